"""State changes asked for by people or code: cancel, re-run, retry a task, mark a task.

Each is one function, used alike by the admin, commands and code.
"""

import logging

from django.db.models import F

from ..exceptions import InvalidTransition
from ..models import TaskLog, TaskRun
from ..states import RUN_CANCELLABLE, RUN_FINISHED, TASK_ACTIVE, TASK_RERUNNABLE, RunState, TaskState
from .advance import start_run, task_finished
from .transitions import changing


def cancel(run):
    """Cancel a queued or running run.

    Pending, queued and retrying tasks will not start; running ones are
    marked cancelled at once and whatever their worker returns later is
    discarded (a worker cannot be interrupted safely mid-function).
    """
    with changing(run.pk) as change:
        if change.run.status not in RUN_CANCELLABLE:
            raise InvalidTransition(
                f"run {run.pk} is {change.run.status}: only queued or running runs can be cancelled"
            )
        names = change.snapshot.names
        change.load(names)
        active = [name for name in names if change.status(name) in TASK_ACTIVE]
        change.move_all(active, TaskState.CANCELLED, finished_at=change.now, next_attempt_at=None)
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
        _reopen(change, [name for name in names if change.status(name) in TASK_RERUNNABLE])
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
        _reopen(
            change, [n for n in _downstream(change.snapshot, name) if change.status(n) in TASK_RERUNNABLE]
        )
    task_run.refresh_from_db()
    return task_run


def mark_task(task_run, status, reason):
    """Set a task's outcome by hand (``succeeded`` or ``failed``), with the reason recorded.

    Marked succeeded, the tasks waiting for it proceed (those it had made
    upstream-failed run after all); marked failed, they become
    upstream-failed. A running task's late result is then discarded.
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
        current = change.status(name)
        if current == status:
            raise InvalidTransition(f"task {name} is already {status}")
        change.move(
            name,
            status,
            expect=current,
            finished_at=change.now,
            output=None,
            error=f"marked {status}: {reason}",
        )
        TaskLog.objects.create(
            task_run_id=change.row(name)["pk"],
            attempt=change.row(name)["attempt"],
            logged_at=change.now,
            level=logging.WARNING,
            source="flowforge",
            message=f"marked {status}: {reason}",
        )
        if status == TaskState.SUCCEEDED:
            later = [n for n in _downstream(snapshot, name) if n != name]
            change.load(later)
            _reopen(change, [n for n in later if change.status(n) == TaskState.UPSTREAM_FAILED], start=False)
        _resume_run(change)
        task_finished(change, name)
    task_run.refresh_from_db()
    return task_run


def _downstream(snapshot, name):
    """Return ``name``, the tasks that wait for it (transitively) and their nested tasks."""
    found, todo = [], [name]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        todo.extend(snapshot.dependents[current])
        todo.extend(snapshot.children[current])
        # Waiting on a group waits on all of it: what waits for its group waits for it.
        for ancestor in snapshot.ancestors(current):
            todo.extend(snapshot.dependents[ancestor])
    return found


def _reopen(change, names, *, start=True):
    """Put ``names`` (and the unfinished groups around them) back to pending, with fresh retries."""
    snapshot = change.snapshot
    again = set(names)
    for name in names:
        again.update(a for a in snapshot.ancestors(name) if change.status(a) != TaskState.SUCCEEDED)
    ordered = [name for name in snapshot.names if name in again]
    change.move_all(
        ordered,
        TaskState.PENDING,
        finished_at=None,
        started_at=None,
        heartbeat_at=None,
        error="",
        traceback="",
        output=None,
    )
    _renew_retries(change, ordered)
    if ordered:
        _resume_run(change)
    if start:
        start_run(change)


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
            max_attempts=F("attempt") - F("lost_attempts") + retries + 1, revision=change.run.revision
        )
