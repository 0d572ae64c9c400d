"""Random sequences of everything that can happen to runs, with the invariants checked after every step.

Hypothesis builds a random flow (nested groups, some with their own
function, dependencies across groups, retries with and without a delay),
launches runs of it and then, in any order: delivers queue messages (and
delivers some again), lets the workers holding attempts succeed, fail or
die, fires retry timers, and asks for retry, mark succeeded / failed,
cancel, re-run failed and clear. Workers are the engine's own entry points
(claim, record_success, record_failure, recover_lost_attempt, resume_retry),
called in this process in the order Hypothesis picks, with the engine's
messages caught by the in-process queue of ``run_flow``.

After every step, for every run (invariants.py): the counters equal the task
runs' statuses, each group's status follows its tasks, no pending task is
forgotten, and a run that is not finished has a task queued, running or
retrying, each with its message, timer or worker.
"""

import os

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from flowforge_admin.api import (
    cancel_run,
    clear_tasks,
    launch_flow,
    mark_task,
    register_task_pipeline,
    rerun_failed,
    retry_task,
)
from flowforge_admin.engine import approvals
from flowforge_admin.engine.dispatch import local_queue
from flowforge_admin.engine.recovery import recover_lost_attempt, resume_retry
from flowforge_admin.engine.worker import claim, record_failure, record_success
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import FlowRun, TaskRun
from flowforge_admin.states import TaskState

from .. import engine_tasks as t
from .invariants import message_problems, run_problems

MAX_RUNS = 3


@st.composite
def flows(draw):
    """A pipeline for register_task_pipeline: a random tree of tasks with acyclic dependencies.

    Tasks are numbered in pre-order; a task may depend on a task whose whole
    subtree comes before it (so never on its own group, and never in a cycle,
    groups' waits included).
    """
    count = draw(st.integers(min_value=2, max_value=7))
    parents = []
    for index in range(count):
        # In pre-order, the parent is the previous task or one of the groups around it.
        open_groups = [None] + [p for p in range(index) if ends_open(parents, p, index)]
        parents.append(draw(st.sampled_from(open_groups)))
    ends = subtree_ends(parents)
    tasks = {}
    for index in range(count):
        name = f"t{index}"
        candidates = [f"t{j}" for j in range(index) if ends[j] < index]
        entry = {
            "depends_on": draw(st.lists(st.sampled_from(candidates), unique=True, max_size=2))
            if candidates
            else [],
            "retries": draw(st.integers(min_value=0, max_value=2)),
            "retry_delay": draw(st.sampled_from([0, 30])),
        }
        # Most tasks run a function; a task without one only joins, a group without one only
        # groups, and a task without children may be an approval step instead (a person decides).
        if draw(st.integers(min_value=0, max_value=3)):
            entry["function"] = t.gather
        elif index not in parents and draw(st.booleans()):
            entry["approval"] = {}
        tasks[name] = (parents[index], entry)
    return nest(tasks)


def ends_open(parents, group, index):
    """Whether ``group`` is an ancestor of task ``index - 1`` or that task itself (it can take a child)."""
    current = index - 1
    while current is not None:
        if current == group:
            return True
        current = parents[current]
    return False


def subtree_ends(parents):
    """Index of the last task of each task's subtree (pre-order)."""
    ends = list(range(len(parents)))
    for index in range(len(parents)):
        parent = parents[index]
        while parent is not None:
            ends[parent] = max(ends[parent], index)
            parent = parents[parent]
    return ends


def nest(tasks):
    """Turn {name: (parent index, entry)} into the nested ``nested_tasks`` form."""
    entries = {name: dict(entry) for name, (_, entry) in tasks.items()}
    pipeline = {}
    for name, (parent, _) in tasks.items():
        target = pipeline if parent is None else entries[f"t{parent}"].setdefault("nested_tasks", {})
        target[name] = entries[name]
    return pipeline


def fingerprint(run):
    """Everything a refused request must leave as it was."""
    run = FlowRun.objects.get(pk=run.pk)
    return (
        run.status,
        run.task_counts(),
        sorted(run.task_runs.values_list("task_name", "status", "attempt", "max_attempts")),
    )


class RunMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example works in a savepoint, rolled back at its end.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._queue_context = local_queue()
        self.queue = self._queue_context.__enter__()
        self.runs = []
        self.waiting = []  # (task run id, attempt, run id) sent and not delivered yet
        self.delivered = []
        self.delayed = []  # (task run id, attempt) of retry timers
        self.held = []  # (run id, task name, attempt, task run id) claimed by a worker

    def teardown(self):
        self._queue_context.__exit__(None, None, None)
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize(pipeline=flows())
    def register(self, pipeline):
        self.flow = register_task_pipeline("machine", pipeline, clear_existing_flow_in_db=True)

    def collect(self):
        """Take what the engine sent to workers and timers."""
        while (ready := self.queue.next_ready()) is not None:
            task_run_id, attempt, run_id, _timeout = ready
            self.waiting.append((task_run_id, attempt, run_id))
        while (due := self.queue.next_due()) is not None:
            self.delayed.append(due[1:])

    def refused_changes_nothing(self, run, label, action, errors=(InvalidTransition,)):
        before = fingerprint(run)
        try:
            action()
        except errors:
            assert fingerprint(run) == before
            event(
                f"{label}: refused"
            )  # how often each request was possible, with --hypothesis-show-statistics
        else:
            event(f"{label}: done")
        self.collect()

    @precondition(lambda self: len(self.runs) < MAX_RUNS)
    @rule()
    def launch(self):
        run = launch_flow(self.flow)
        run.snapshot_names = [task["name"] for task in run.snapshot["tasks"]]
        self.runs.append(run)
        self.collect()

    @precondition(lambda self: self.waiting)
    @rule(data=st.data())
    def deliver(self, data):
        message = self.waiting.pop(data.draw(st.integers(0, len(self.waiting) - 1), label="message"))
        self.delivered.append(message)
        task_run_id, attempt, run_id = message
        claimed = claim(task_run_id, attempt, run_id)
        event("deliver: claimed" if claimed else "deliver: stale")
        if claimed is not None:
            self.held.append((run_id, claimed[2], attempt, task_run_id))

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def deliver_again(self, data):
        """A message delivered twice (or a stale one) never runs a task twice."""
        task_run_id, attempt, run_id = data.draw(st.sampled_from(self.delivered), label="message")
        assert claim(task_run_id, attempt, run_id) is None

    def release(self, data):
        return self.held.pop(data.draw(st.integers(0, len(self.held) - 1), label="worker"))

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def succeed(self, data):
        run_id, name, attempt, _ = self.release(data)
        record_success(run_id, name, attempt, {"ok": name})
        self.collect()

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def fail(self, data):
        run_id, name, attempt, _ = self.release(data)
        record_failure(run_id, name, attempt, "RuntimeError: boom")
        self.collect()

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def lose_worker(self, data):
        run_id, name, attempt, _ = self.release(data)
        recover_lost_attempt(run_id, name, attempt)
        self.collect()

    @precondition(lambda self: self.delayed)
    @rule(data=st.data())
    def retry_timer(self, data):
        task_run_id, attempt = self.delayed.pop(
            data.draw(st.integers(0, len(self.delayed) - 1), label="timer")
        )
        resume_retry(task_run_id, attempt)
        self.collect()

    @rule(data=st.data(), approve=st.booleans())
    def decide(self, data, approve):
        """A person approves or rejects a waiting approval step (refused when there is none waiting)."""
        waiting = list(
            TaskRun.objects.filter(
                run__in=self.runs, status=TaskState.WAITING, approval_group__isnull=False
            ).order_by("id")
        )
        if not waiting:
            event("decide: nothing waits")
            return
        task_run = data.draw(st.sampled_from(waiting), label="approval step")
        approvals.decide(task_run, approved=approve, by="machine", comment="decided")
        event("decide: done")
        self.collect()

    # The requests of people and code: two rules (one per kind of target),
    # so that workers, which have six, get most of the steps.

    @precondition(lambda self: self.runs)
    @rule(data=st.data(), request=st.sampled_from(["retry", "mark succeeded", "mark failed", "clear"]))
    def ask_about_tasks(self, data, request):
        run = data.draw(st.sampled_from(self.runs), label="run")
        names = data.draw(
            st.lists(st.sampled_from(run.snapshot_names), min_size=1, max_size=2), label="tasks"
        )
        task_run = TaskRun.objects.get(run=run, task_name=names[0])
        if request == "retry":
            self.refused_changes_nothing(run, request, lambda: retry_task(task_run))
        elif request.startswith("mark"):
            status = TaskState.SUCCEEDED if request == "mark succeeded" else TaskState.FAILED
            self.refused_changes_nothing(run, request, lambda: mark_task(task_run, status, "by hand"))
        else:
            downstream = data.draw(st.booleans(), label="downstream")
            # Never refused: whatever their status, named tasks that exist are cleared.
            self.refused_changes_nothing(run, request, lambda: clear_tasks(run, names, downstream), errors=())

    @precondition(lambda self: self.runs)
    @rule(data=st.data(), request=st.sampled_from(["cancel", "rerun failed", "clear unknown"]))
    def ask_about_a_run(self, data, request):
        run = data.draw(st.sampled_from(self.runs), label="run")
        if request == "cancel":
            self.refused_changes_nothing(run, request, lambda: cancel_run(run))
        elif request == "rerun failed":
            self.refused_changes_nothing(run, request, lambda: rerun_failed(run))
        else:
            before = fingerprint(run)
            with pytest.raises(ValidationError, match="no task named 'nope'"):
                clear_tasks(run, [run.snapshot_names[0], "nope"])
            assert fingerprint(run) == before

    @invariant()
    def runs_are_consistent_and_live(self):
        waiting = {(pk, attempt) for pk, attempt, _ in self.waiting}
        delayed = set(self.delayed)
        held = {(pk, attempt) for _, _, attempt, pk in self.held}
        for run in self.runs:
            problems = run_problems(run) + message_problems(run, waiting, delayed, held)
            assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_runs_never_get_stuck():
    run_state_machine_as_test(
        RunMachine,
        settings=settings(
            # About 10 s of CPU; FLOWFORGE_MACHINE_EXAMPLES=1000 explores further, by hand.
            max_examples=int(os.environ.get("FLOWFORGE_MACHINE_EXAMPLES", 30)),
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
