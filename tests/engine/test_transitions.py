"""engine/transitions.py: every status change under the run's lock, as conditional updates with counters."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine.transitions import changing
from flowforge_admin.models import FlowRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import task_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(diamond, marker_dir):
    """A launched diamond: a queued, b, c and d pending (its messages not sent: nothing runs)."""
    return launch_flow(diamond, {"marker_dir": str(marker_dir)})


def counts(run):
    run.refresh_from_db()
    return {
        state: getattr(run, f"{state}_count") for state in TaskState.values if getattr(run, f"{state}_count")
    }


def test_a_task_run_moved_behind_the_runs_lock_stops_the_change_and_changes_nothing():
    run = launch_flow(
        register_task_pipeline(
            "pair",
            {"a": {"function": t.takes_only_n}, "b": {"function": t.takes_only_n, "depends_on": ["a"]}},
        )
    )
    messages = OrmQ.objects.count()

    def queue_b_while_something_else_moves_it():
        with changing(run.pk) as change:
            assert change.queue_pending("b")
            # Something moved it without taking the run's lock (nothing in the engine does).
            run.task_runs.filter(task_name="b").update(status=TaskState.CANCELLED)

    with pytest.raises(RuntimeError, match="were not pending any more"):
        queue_b_while_something_else_moves_it()
    run.refresh_from_db()
    assert (run.pending_count, run.queued_count) == (1, 1)
    assert run.task_runs.get(task_name="b").status == TaskState.PENDING
    assert OrmQ.objects.count() == messages


def test_a_change_of_a_run_that_does_not_exist_raises():
    with pytest.raises(FlowRun.DoesNotExist, match="run 0 does not exist"), changing(0):
        pass


def test_a_move_moves_the_counters_and_takes_the_changes_revision(run):
    before = FlowRun.objects.get(pk=run.pk).revision
    with changing(run.pk) as change:
        assert change.move("a", TaskState.RUNNING, expect=TaskState.QUEUED)
        assert change.count(TaskState.RUNNING, TaskState.QUEUED) == 1  # this change's own moves included
    assert counts(run) == {TaskState.PENDING: 3, TaskState.RUNNING: 1}
    assert (run.revision, task_run(run, "a").revision) == (before + 1, before + 1)
    assert task_run(run, "b").revision < run.revision


@pytest.mark.parametrize(
    ("expect", "expect_attempt"),
    [(TaskState.PENDING, None), ((TaskState.RUNNING, TaskState.RETRYING), None), (TaskState.QUEUED, 2)],
)
def test_a_move_from_another_status_or_attempt_changes_nothing(run, expect, expect_attempt):
    before = counts(run)
    with changing(run.pk) as change:
        assert not change.move("a", TaskState.RUNNING, expect=expect, expect_attempt=expect_attempt)
    assert counts(run) == before
    assert (task_run(run, "a").status, task_run(run, "a").attempt) == (TaskState.QUEUED, 1)


def test_moving_many_costs_one_update_per_status_they_are_in(run):
    with changing(run.pk) as change, CaptureQueriesContext(connection) as captured:
        change.move_all(["a", "b", "c", "d"], TaskState.CANCELLED)
    updates = [
        query["sql"] for query in captured if query["sql"].startswith('UPDATE "flowforge_admin_taskrun"')
    ]
    assert len(updates) == 2, "\n".join(updates)  # the queued one, the pending ones
    assert counts(run) == {TaskState.CANCELLED: 4}


def test_a_change_that_leaves_nothing_active_finishes_the_run(run):
    with changing(run.pk) as change:
        change.move_all(["a", "b", "c", "d"], TaskState.SUCCEEDED)
        assert change.run.status == RunState.QUEUED  # decided when the change is saved
    run.refresh_from_db()
    assert (run.status, run.finished_at is not None) == (RunState.SUCCEEDED, True)


def test_a_task_failed_in_a_change_that_leaves_nothing_active_fails_the_run(run):
    with changing(run.pk) as change:
        change.move_all(["a"], TaskState.FAILED)
        change.move_all(["b", "c", "d"], TaskState.UPSTREAM_FAILED)
    run.refresh_from_db()
    assert run.status == RunState.FAILED


def test_the_expected_move_is_counted_as_the_run_is_locked_and_counted_back_if_it_does_not_happen(run):
    with changing(run.pk, (TaskState.QUEUED, TaskState.RUNNING)) as change:
        assert change.move("a", TaskState.RUNNING, expect=TaskState.QUEUED)
    assert counts(run) == {TaskState.PENDING: 3, TaskState.RUNNING: 1}
    with changing(run.pk, (TaskState.RUNNING, TaskState.SUCCEEDED)) as change:
        pass  # the worker found its attempt taken over: no move
    assert counts(run) == {TaskState.PENDING: 3, TaskState.RUNNING: 1}


def test_an_expected_move_from_an_empty_status_locks_without_counting(run):
    with changing(run.pk, (TaskState.RUNNING, TaskState.SUCCEEDED)) as change:
        assert change.count(TaskState.RUNNING) == 0
    assert counts(run) == {TaskState.PENDING: 3, TaskState.QUEUED: 1}


def test_only_a_pending_task_run_is_queued(run):
    sent = OrmQ.objects.count()
    with changing(run.pk) as change:
        assert not change.queue_pending("a")  # queued already
        assert change.queue_pending("b")
    assert (task_run(run, "b").status, task_run(run, "b").attempt) == (TaskState.QUEUED, 1)
    assert counts(run) == {TaskState.PENDING: 2, TaskState.QUEUED: 2}
    assert OrmQ.objects.count() == sent + 1
