"""State changes asked for by people or code: cancel, re-run, retry a task, mark a task, clear tasks.

Each is one function, used alike by the admin, commands and code. Each
leaves the run as the engine leaves it after a task finishes: every group's
status follows its tasks (a group decided before the change starts again),
no pending task is ready or doomed without being started or given up, and a
run that is not finished has work queued, running, retrying or waiting. The stateful
test (tests/engine/test_run_state_machine.py) checks this after random
sequences of all of them.
"""

import logging

from django.core.exceptions import ValidationError

from ..exceptions import InvalidTransition
from ..models import TaskLog, TaskRun
from ..states import (
    RUN_CANCELLABLE,
    RUN_FINISHED,
    TASK_ACTIVE,
    TASK_FINISHED,
    TASK_RERUNNABLE,
    RunState,
    TaskState,
)
from . import admission, attempts, mapping
from .advance import start_run, task_finished
from .retries import attempts_after_reopen
from .transitions import changing


def cancel(run):
    """Cancel a queued or running run.

    Pending, queued, retrying and waiting tasks will not start (a waiting
    sensor's timed message then does nothing); running ones are
    marked cancelled at once and whatever their worker returns later is
    discarded (a worker cannot be interrupted safely mid-function).
    """
    with changing(run.pk) as change:
        if change.run.status not in RUN_CANCELLABLE:
            raise InvalidTransition(
                f"run {run.pk} is {change.run.status}: only queued or running runs can be cancelled"
            )
        names = [*change.snapshot.names, *mapping.active_instances(change)]
        change.load(names)
        active = [name for name in names if change.status(name) in TASK_ACTIVE]
        change.move_all(active, TaskState.CANCELLED, finished_at=change.now, next_attempt_at=None)
        if change.run.held:
            admission.release(change)
        change.set_run_status(RunState.CANCELLED, finished_at=change.now)
    run.refresh_from_db()
    return run


def rerun_failed(run):
    """Run again the failed, upstream-failed and cancelled tasks of a finished run.

    Succeeded tasks keep their outputs and are not run again; the others (and
    the groups around them) go back to pending and start as their upstream
    allows, each as a new attempt with its retries renewed.
    """
    with changing(run.pk) as change:
        if change.run.status not in (RunState.FAILED, RunState.CANCELLED):
            raise InvalidTransition(
                f"run {run.pk} is {change.run.status}: only failed or cancelled runs can be re-run"
            )
        names = change.snapshot.names
        change.load(names)
        rerun = [name for name in names if change.status(name) in TASK_RERUNNABLE]
        # A mapped task with instances runs again only those that did not succeed (not all of them).
        instances = mapping.rerunnable_instances(change, rerun)
        if instances:
            _reopen_instances(change, instances, only_rerunnable=True)
            parents = {mapping.parent_of(name) for name in instances}
            rerun = [name for name in rerun if name not in parents]
        _reopen(change, rerun)
    run.refresh_from_db()
    return run


def retry_task(task_run):
    """Run one failed, upstream-failed or cancelled task again, and what waits for it.

    Its downstream tasks that did not succeed go back to pending too; the
    run, if it had finished, goes on.
    """
    with changing(task_run.run_id) as change:
        name = task_run.task_name
        change.load(change.snapshot.names)
        if change.status(name) not in TASK_RERUNNABLE:
            raise InvalidTransition(
                f"task {name} is {change.status(name)}: only failed, upstream-failed or cancelled tasks can be retried"
            )
        if mapping.parent_of(name):
            _reopen_instances(change, [name], only_rerunnable=True)
        else:
            _reopen(
                change,
                [n for n in change.snapshot.graph.downstream(name) if change.status(n) in TASK_RERUNNABLE],
            )
    task_run.refresh_from_db()
    return task_run


def mark_task(task_run, status, reason):
    """Set a task's outcome by hand (``succeeded`` or ``failed``), with the reason recorded.

    Marked succeeded, the tasks waiting for it proceed (those it had made
    upstream-failed run after all); marked failed, they become
    upstream-failed. A running task's late result is then discarded. The
    groups around it follow, as they do when a task finishes: a failed group
    whose last failed task is marked succeeded starts again and finishes
    (running its own function, if it has one), and so does what waits for it.
    """
    if status not in (TaskState.SUCCEEDED, TaskState.FAILED):
        raise InvalidTransition(f"a task can be marked succeeded or failed, not {status!r}")
    if not (reason or "").strip():
        raise InvalidTransition("a reason is required to mark a task")
    with changing(task_run.run_id) as change:
        name = task_run.task_name
        snapshot = change.snapshot
        if snapshot.is_group(name):
            raise InvalidTransition(f"task {name} is a group: its outcome follows its tasks")
        if name in snapshot.tasks and snapshot.tasks[name].get("approval") is not None:
            # Marking would let anyone with cancel_run decide what only its approvers may.
            raise InvalidTransition(
                f"task {name} is an approval step: its approvers approve or reject it (retry it to ask again)"
            )
        current = change.status(name)
        if current == status:
            raise InvalidTransition(f"task {name} is already {status}")
        # The mark is an attempt of its own: the outgoing one (its output,
        # error and artifact) stays readable as the attempt before it.
        attempts.keep(change, [name])
        change.move(
            name,
            status,
            expect=current,
            next_attempt=True,
            finished_at=change.now,
            next_attempt_at=None,
            output=None,
            error=f"marked {status}: {reason}",
            traceback="",
        )
        TaskLog.objects.create(
            task_run_id=change.row(name)["pk"],
            attempt=change.row(name)["attempt"],
            logged_at=change.now,
            level=logging.WARNING,
            source="flowforge",
            message=f"marked {status}: {reason}",
        )
        # A mapped instance: its task, decided with the old outcome, waits for its instances again.
        graph_name = mapping.parent_of(name) or name
        decided = current not in TASK_ACTIVE
        if graph_name != name:
            decided = _undecide(change, graph_name)
        again = []
        if status == TaskState.SUCCEEDED:
            later = [n for n in snapshot.graph.downstream(graph_name) if n != graph_name]
            change.load(later)
            again = [n for n in later if change.status(n) == TaskState.UPSTREAM_FAILED]
        # A finished task's groups were decided (or are running their own
        # function) with its old outcome: they start again from pending, and
        # finish with the new one. An active task's group is still running.
        _reopen(change, again, groups_of=[graph_name] if decided else [], start=False)
        _resume_run(change)
        task_finished(change, name)
        start_run(change)
    task_run.refresh_from_db()
    return task_run


def clear_tasks(run, task_names, downstream=True):
    """Run ``task_names`` again as new attempts, with (by default) everything downstream of them.

    Airflow's "clear": the named tasks, the tasks of the named groups, the
    tasks that wait for them (unless ``downstream`` is False) and the groups
    containing them go back to pending, whatever their status, with their
    retries renewed, and start as their upstream allows. An attempt that is
    queued or running is discarded (its late result is ignored). A finished
    run, cancelled ones included, becomes running again.

    Raise ValidationError, and change nothing, when ``task_names`` is not a
    non-empty list of names, or names a task the run does not have (naming it).
    """
    names = _names_to_clear(run, task_names)
    with changing(run.pk) as change:
        snapshot = change.snapshot
        graph = snapshot.graph
        instances = [name for name in names if name not in graph and mapping.parent_of(name) in graph]
        change.load(instances)
        missing = [name for name in names if name not in graph and not change.known(name)]
        if missing:
            raise ValidationError(
                f"run {run.pk} of flow {snapshot.data['flow']!r} has no task named "
                + ", ".join(repr(name) for name in missing),
                code="unknown_task",
            )
        if instances:
            _reopen_instances(change, instances, only_rerunnable=False, downstream=downstream)
            names = [name for name in names if name not in instances]
        cleared = {}
        for name in names:
            found = graph.downstream(name) if downstream else graph.descendants(name)
            cleared.update(dict.fromkeys(found))
        change.load(snapshot.names)
        _reopen(change, [name for name in snapshot.names if name in cleared])
    run.refresh_from_db()
    return run


def _names_to_clear(run, task_names):
    """Return ``task_names`` without repeats; raise ValidationError unless they are a non-empty list of names."""
    if isinstance(task_names, str):
        raise ValidationError(
            f"clear_tasks takes a list of task names, not the string {task_names!r}", code="invalid_tasks"
        )
    if not isinstance(task_names, (list, tuple, set, frozenset)):
        raise ValidationError(
            f"clear_tasks takes a list of task names, not {task_names!r}", code="invalid_tasks"
        )
    not_names = [name for name in task_names if not isinstance(name, str)]
    if not_names:
        raise ValidationError(
            f"clear_tasks takes task names (strings), not {', '.join(map(repr, not_names))}",
            code="invalid_tasks",
        )
    names = list(dict.fromkeys(task_names))
    if not names:
        raise ValidationError(f"name at least one task of run {run.pk} to clear", code="invalid_tasks")
    return names


# What a task run forgets when it goes back to pending for a new attempt (a task or a mapped instance).
FRESH_ATTEMPT = {
    "finished_at": None,
    "started_at": None,
    "heartbeat_at": None,
    "worker": None,
    "next_attempt_at": None,
    "error": "",
    "traceback": "",
    "output": None,
    "checks": 0,  # a sensor checks afresh, its timeout counted anew
    "wait_started_at": None,
}


def _reopen(change, names, *, groups_of=(), start=True):
    """Put ``names`` back to pending, with fresh retries, and the groups around them (or ``groups_of``) that must start again."""
    snapshot = change.snapshot
    again = set(names)
    for name in [*names, *groups_of]:
        again.update(_groups_to_restart(change, name, again))
    ordered = [name for name in snapshot.names if name in again]
    # Their outgoing attempts (outputs, errors, artifacts) stay readable.
    attempts.keep(change, ordered)
    change.move_all(ordered, TaskState.PENDING, **FRESH_ATTEMPT)
    _renew_retries(change, ordered)
    if ordered:
        _resume_run(change)
    if start:
        start_run(change)


def _reopen_instances(change, names, *, only_rerunnable, downstream=True):
    """Run mapped instances ``names`` again as new attempts; their tasks wait for them again.

    What waits for their tasks goes back to pending too (for a retry, what did
    not succeed; for a clear, all of it unless ``downstream`` is False).
    """
    graph = change.snapshot.graph
    parents = list(dict.fromkeys(mapping.parent_of(name) for name in names))
    attempts.keep(change, names)
    change.move_all(names, TaskState.PENDING, **FRESH_ATTEMPT)
    _renew_retries(change, names)
    decided = [parent for parent in parents if _undecide(change, parent)]
    later = []
    if downstream:
        later = list(dict.fromkeys(n for parent in parents for n in graph.downstream(parent) if n != parent))
        change.load(later)
        if only_rerunnable:
            later = [n for n in later if change.status(n) in TASK_RERUNNABLE]
    _resume_run(change)
    for name in names:
        change.queue_pending(name)
    _reopen(change, later, groups_of=decided)


def _undecide(change, parent):
    """Put a mapped task that its instances had decided back to running; return True if it was decided."""
    current = change.status(parent)
    if current not in TASK_FINISHED:
        return False
    change.move(parent, TaskState.RUNNING, expect=current, finished_at=None, output=None, error="")
    return True


def _groups_to_restart(change, name, reopened):
    """Return the groups around ``name`` that must go back to pending for its new status to count.

    ``reopened``: the tasks going back to pending. A group running while one
    of its tasks is active (or reopened) takes the change in its stride, and
    so do the groups around it; a pending group has not started. Any other
    group (finished, or queued, retrying or running for its own function)
    was decided without this change: it starts again.
    """
    snapshot = change.snapshot
    found = []
    for group in snapshot.ancestors(name):
        status = change.status(group)
        if status == TaskState.PENDING:
            break
        if status == TaskState.RUNNING:
            children = snapshot.children[group]
            change.load(children)
            if any(child in reopened or change.status(child) in TASK_ACTIVE for child in children):
                break
        found.append(group)
        reopened = reopened | {group}
    return found


def _resume_run(change):
    """A finished run goes on (it finishes again once nothing is left to run)."""
    if change.run.status in RUN_FINISHED:
        change.set_run_status(
            RunState.QUEUED if change.run.started_at is None else RunState.RUNNING, finished_at=None
        )


def _renew_retries(change, names):
    """Give each task run of a re-run its full number of retries again."""
    by_retries = {}
    for name in names:
        by_retries.setdefault(change.snapshot.tasks[name]["retries"], []).append(name)
    for retries, group in by_retries.items():
        TaskRun.objects.filter(run=change.run, task_name__in=group).update(
            max_attempts=attempts_after_reopen(retries), revision=change.run.revision
        )
