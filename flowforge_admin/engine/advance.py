"""Deciding what runs next, when something happened to a run.

Event-driven: the worker that finishes a task calls :func:`task_finished`,
which looks only at that task's direct downstream tasks and its group, and
starts what became ready. Nothing polls. Group semantics (DESIGN.md):

- a group starts (``running``) once its own upstream succeeded; its
  children then start as their own upstream allows;
- a group finishes when all its children have: it succeeds when they all
  did (after running its own function, if it has one), and otherwise takes
  the worst of their outcomes;
- a task waiting on a group waits for the group, hence for all of it.

Work is kept in a queue rather than recursion, so that a failure at the top
of a chain of thousands of tasks marks them all without a deep stack.
"""

from collections import deque

from ..models import TaskRun
from ..states import TASK_FINISHED, TaskState
from . import approvals, mapping

EVALUATE, FINISHED, GROUP_CHECK = "evaluate", "finished", "group_check"


def start_run(change):
    """Start what can start in a new (or re-run) run: every task is evaluated.

    A run held for a place under its flow's max_active_runs starts nothing
    until it is admitted (:mod:`flowforge_admin.engine.admission`).
    """
    if change.run.held:
        return
    names = change.snapshot.names
    change.load(names)
    process(change, [(EVALUATE, name) for name in names])


def start_waiting(change, names):
    """Try again to start ``names``, left pending for want of a pool slot (the slots are taken as the change is saved)."""
    change.load(names)
    # A mapped instance is not in the graph: its task started it, it only waited for a slot.
    for name in names:
        if mapping.parent_of(name) is not None:
            change.queue_pending(name)
    process(change, [(EVALUATE, name) for name in names if mapping.parent_of(name) is None])


def task_finished(change, name):
    """React to ``name`` having reached a finished status."""
    parent = mapping.parent_of(name)
    if parent is not None:
        # A mapped task's instance: the run goes on from its task, once all its instances finished.
        if not mapping.instance_finished(change, parent):
            return
        name = parent
    process(change, [(FINISHED, name)])


def process(change, events):
    queue = deque(events)
    handlers = {EVALUATE: _evaluate, FINISHED: _finished, GROUP_CHECK: _group_check}
    while queue:
        kind, name = queue.popleft()
        handlers[kind](change, name, queue)


def _evaluate(change, name, queue):
    """Start ``name`` if everything it waits for succeeded; fail it if something cannot."""
    if change.status(name) != TaskState.PENDING:
        return
    snapshot = change.snapshot
    parent = snapshot.parent(name)
    if parent is not None:
        parent_status = change.status(parent)
        if parent_status in TASK_FINISHED:
            _give_up(change, name, queue)
            return
        if parent_status != TaskState.RUNNING:
            return  # its group has not started yet
    upstream = snapshot.tasks[name]["depends_on"]
    change.load(upstream)
    statuses = [change.status(upstream_name) for upstream_name in upstream]
    if any(status in TASK_FINISHED and status != TaskState.SUCCEEDED for status in statuses):
        _give_up(change, name, queue)
    elif all(status == TaskState.SUCCEEDED for status in statuses):
        _start(change, name, queue)


def _give_up(change, name, queue):
    """``name`` can never run: mark it upstream_failed."""
    if change.move(name, TaskState.UPSTREAM_FAILED, expect=TaskState.PENDING, finished_at=change.now):
        queue.append((FINISHED, name))


def _start(change, name, queue):
    snapshot = change.snapshot
    if snapshot.is_group(name):
        change.move(name, TaskState.RUNNING, expect=TaskState.PENDING, started_at=change.now)
        children = snapshot.children[name]
        change.load(children)
        queue.extend((EVALUATE, child) for child in children)
        queue.append((GROUP_CHECK, name))  # its children may all be done already (re-run)
    elif snapshot.tasks[name].get("approval") is not None:
        # A person decides it (engine/approvals.py): it waits, holding nothing.
        if approvals.wait(change, name):
            queue.append((FINISHED, name))
    elif snapshot.tasks[name].get("map_over"):
        if mapping.expand(change, name):
            queue.append((FINISHED, name))
    elif snapshot.function(name):
        change.queue_pending(name)
    else:
        # A task without a function only joins others: it succeeds at once.
        change.move(
            name, TaskState.SUCCEEDED, expect=TaskState.PENDING, started_at=change.now, finished_at=change.now
        )
        queue.append((FINISHED, name))


def queue_attempt(change, name, *, expect, expect_attempt=None, **fields):
    """Move ``name`` (now in ``expect``) to queued for its next attempt, and send it to a worker.

    ``expect_attempt``, when given, is the attempt it must still be on (for
    retries and lost workers). Return True if it was queued.
    """
    if not change.move(
        name,
        TaskState.QUEUED,
        expect=expect,
        expect_attempt=expect_attempt,
        next_attempt=True,
        queued_at=change.now,
        next_attempt_at=None,
        **fields,
    ):
        return False
    change.send(name)
    return True


def fail_attempt(change, name, attempt, **fields):
    """The running ``attempt`` failed for good: fail the task and tell what waits for it."""
    if change.move(
        name,
        TaskState.FAILED,
        expect=TaskState.RUNNING,
        expect_attempt=attempt,
        finished_at=change.now,
        **fields,
    ):
        task_finished(change, name)


def own_attempt(change, name):
    """Whether a worker's attempt of ``name`` (running, on its current attempt) may still record an outcome.

    Always for a task. A group runs its own function only once all its
    tasks have succeeded; when one of them is run again, the group goes
    back to running them with the same attempt number, and the worker still
    running its function must not record that attempt's result then.
    """
    snapshot = change.snapshot
    if not snapshot.is_group(name):
        return True
    children = snapshot.children[name]
    change.load(children)
    return all(change.status(child) == TaskState.SUCCEEDED for child in children)


def _finished(change, name, queue):
    snapshot = change.snapshot
    dependents = snapshot.dependents[name]
    # Everything evaluating them looks at, read in one query rather than one per dependent.
    change.load(_evaluated_with(snapshot, dependents))
    queue.extend((EVALUATE, dependent) for dependent in dependents)
    if snapshot.is_group(name):
        queue.extend((EVALUATE, child) for child in snapshot.children[name])
    parent = snapshot.parent(name)
    if parent is not None:
        queue.append((GROUP_CHECK, parent))


def _evaluated_with(snapshot, names):
    """The tasks whose statuses deciding whether ``names`` can start looks at."""
    needed = list(names)
    for name in names:
        needed.extend(snapshot.tasks[name]["depends_on"])
        if snapshot.parent(name) is not None:
            needed.append(snapshot.parent(name))
    return list(dict.fromkeys(needed))


def _group_check(change, name, queue):
    """Finish a running group whose children have all finished."""
    if change.status(name) != TaskState.RUNNING:
        return
    snapshot = change.snapshot
    children = snapshot.children[name]
    statuses = [change.status(child) for child in children]
    if any(status not in TASK_FINISHED for status in statuses):
        return
    if all(status == TaskState.SUCCEEDED for status in statuses):
        if snapshot.function(name):
            # The group's own function gathers its children's work.
            queue_attempt(change, name, expect=TaskState.RUNNING)
            return
        change.move(
            name,
            TaskState.SUCCEEDED,
            expect=TaskState.RUNNING,
            finished_at=change.now,
            output=outputs_of(change.run.pk, children),
        )
    else:
        change.move(name, _group_outcome(statuses), expect=TaskState.RUNNING, finished_at=change.now)
    queue.append((FINISHED, name))


def _group_outcome(statuses):
    for status in (TaskState.FAILED, TaskState.CANCELLED):
        if status in statuses:
            return status
    return TaskState.UPSTREAM_FAILED


def outputs_of(run_id, names):
    """Return {task name: output} of ``names`` in the run (one query).

    A pure group's output gathers its children's; a task's context gives it
    its upstream tasks' (and, for a group's own function, its children's).
    """
    return dict(
        TaskRun.objects.filter(run_id=run_id, task_name__in=list(names)).values_list("task_name", "output")
    )
