"""What must hold of a run after every state change, whatever happened before.

Each check returns a list of problems (empty when all is well), each naming
the run and the task, so that a failing test says what is wrong. The
stateful test (test_run_state_machine.py) asserts them after every step;
focused tests can call :func:`run_problems` on the run they built.

The engine is event-driven (nothing polls for pending tasks), so "settled"
matters as much as "consistent": once a change is committed, no pending task
may be ready to start or doomed to give up, or nothing will ever look at it
again and the run is stuck.
"""

from flowforge_admin.engine.snapshot import snapshot_of
from flowforge_admin.models import FlowRun
from flowforge_admin.models.runs import count_field
from flowforge_admin.states import RUN_FINISHED, TASK_ACTIVE, TASK_FINISHED, RunState, TaskState

IN_FLIGHT = frozenset({TaskState.QUEUED, TaskState.RUNNING, TaskState.RETRYING, TaskState.WAITING})


def task_runs(run):
    """Return {task name: (status, id, attempt)} of ``run``."""
    return {
        name: (status, pk, attempt)
        for name, status, pk, attempt in run.task_runs.values_list("task_name", "status", "pk", "attempt")
    }


def run_problems(run):
    """Every broken invariant of ``run`` (read afresh), as messages."""
    run = FlowRun.objects.get(pk=run.pk)
    snapshot = snapshot_of(run.pk, run.created_at)
    rows = task_runs(run)
    status = {name: row[0] for name, row in rows.items()}
    problems = []
    if sorted(rows) != sorted(snapshot.names):
        problems.append(f"run {run.pk}: task runs {sorted(rows)} != snapshot tasks {sorted(snapshot.names)}")
        return problems
    problems += counter_problems(run, status)
    problems += run_status_problems(run, snapshot, status)
    for name in snapshot.names:
        problems += [f"run {run.pk} task {name}: {p}" for p in task_problems(snapshot, status, name)]
    return problems


def counter_problems(run, status):
    """The run's counters equal the task runs' statuses."""
    problems = []
    for state in TaskState.values:
        actual = sum(1 for value in status.values() if value == state)
        counted = getattr(run, count_field(state))
        if counted != actual:
            problems.append(
                f"run {run.pk}: {count_field(state)} is {counted}, but {actual} task runs are {state}"
            )
    return problems


def executing(snapshot, status, name):
    """Whether a worker holds (or will hold) an attempt of ``name``: queued, retrying, waiting, or running its own function."""
    if status[name] in (TaskState.QUEUED, TaskState.RETRYING, TaskState.WAITING):
        return True
    if status[name] != TaskState.RUNNING:
        return False
    return all(status[child] == TaskState.SUCCEEDED for child in snapshot.children[name])


def run_status_problems(run, snapshot, status):
    """A run is finished exactly when no task is active, and then says how it went; else work is under way."""
    values = set(status.values())
    active = values & TASK_ACTIVE
    if run.status in RUN_FINISHED:
        problems = []
        if active:
            problems.append(f"run {run.pk} is {run.status} but has {sorted(active)} tasks")
        if run.finished_at is None:
            problems.append(f"run {run.pk} is {run.status} without a finish time")
        if run.status == RunState.SUCCEEDED and values != {TaskState.SUCCEEDED}:
            problems.append(f"run {run.pk} succeeded but its tasks are {sorted(values)}")
        if run.status == RunState.FAILED and values <= {TaskState.SUCCEEDED}:
            problems.append(f"run {run.pk} failed but every task succeeded")
        return problems
    # Not finished: some task is queued, running or retrying, or it never will be.
    if not any(executing(snapshot, status, name) for name in snapshot.names):
        return [f"run {run.pk} is {run.status} with nothing queued, running or retrying: {status}"]
    return []


def task_problems(snapshot, status, name):
    """A task's status agrees with its group, its upstream tasks and (for a group) its tasks."""
    problems = []
    own = status[name]
    parent = snapshot.parent(name)
    parent_status = status[parent] if parent is not None else TaskState.RUNNING
    if own in IN_FLIGHT and not snapshot.is_group(name) and parent_status != TaskState.RUNNING:
        problems.append(f"is {own} inside group {parent}, which is {parent_status}")
    if own == TaskState.PENDING:
        problems += pending_problems(snapshot, status, name, parent_status)
    if snapshot.is_group(name):
        problems += group_problems(snapshot, status, name)
    return problems


def pending_problems(snapshot, status, name, parent_status):
    """A pending task waits for something unfinished: its group's start or an upstream task."""
    if parent_status == TaskState.PENDING:
        return []
    if parent_status != TaskState.RUNNING:
        return [f"is pending inside group {snapshot.parent(name)}, which is {parent_status}"]
    upstream = [status[u] for u in snapshot.tasks[name]["depends_on"]]
    if any(s in TASK_FINISHED and s != TaskState.SUCCEEDED for s in upstream):
        return [
            f"is pending though an upstream task did not succeed ({upstream}): it should be upstream_failed"
        ]
    if all(s == TaskState.SUCCEEDED for s in upstream):
        return ["is pending though everything it waits for succeeded: nothing will start it"]
    return []


def group_problems(snapshot, status, name):
    """A group's status follows its tasks' (DESIGN.md, Nested tasks)."""
    own = status[name]
    children = [status[child] for child in snapshot.children[name]]
    any_active = any(s in TASK_ACTIVE for s in children)
    all_succeeded = all(s == TaskState.SUCCEEDED for s in children)
    function = bool(snapshot.function(name))
    wrong = f"is a {own} group whose tasks are {children}"
    if own == TaskState.PENDING and any(s in IN_FLIGHT for s in children):
        return [wrong]
    if own == TaskState.RUNNING and not (any_active or (all_succeeded and function)):
        return [wrong]
    if own in (TaskState.QUEUED, TaskState.RETRYING) and not (all_succeeded and function):
        return [wrong]
    if own == TaskState.SUCCEEDED and not all_succeeded:
        return [wrong]
    if own in TASK_FINISHED and any_active:
        return [wrong]
    if own == TaskState.FAILED and TaskState.FAILED not in children and not (all_succeeded and function):
        return [wrong + " (failed with no failed task, and not by its own function)"]
    return []


def message_problems(run, waiting, delayed, held):
    """Every queued attempt has a message, every retrying one a timer, every running one a worker.

    ``waiting``: (task run id, attempt) of undelivered messages; ``delayed``:
    those of pending retry timers; ``held``: those workers are running.
    """
    snapshot = snapshot_of(run.pk, FlowRun.objects.values_list("created_at", flat=True).get(pk=run.pk))
    rows = task_runs(run)
    status = {name: row[0] for name, row in rows.items()}
    problems = []
    for name, (own, pk, attempt) in rows.items():
        key = (pk, attempt)
        if own == TaskState.QUEUED and key not in waiting:
            problems.append(f"run {run.pk} task {name} is queued (attempt {attempt}) with no message")
        if own == TaskState.RETRYING and key not in delayed:
            problems.append(f"run {run.pk} task {name} is retrying (attempt {attempt}) with no timer")
        if own == TaskState.RUNNING and executing(snapshot, status, name) and key not in held:
            problems.append(f"run {run.pk} task {name} is running (attempt {attempt}) in no worker")
    return problems
