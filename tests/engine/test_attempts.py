"""Earlier attempts stay readable: each replaced attempt's outcome is recorded as a TaskAttempt."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowforge_admin.api import clear_tasks, launch_flow, mark_task, register_task_pipeline, run_flow
from flowforge_admin.engine.dispatch import local_queue
from flowforge_admin.engine.recovery import recover_lost_attempt, resume_retry
from flowforge_admin.engine.worker import claim
from flowforge_admin.models import TaskAttempt, TaskLog
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import run_actions, statuses
from .invariants import run_problems

pytestmark = pytest.mark.django_db


def recorded(run):
    """{(task name, attempt): (status, output, error)} of the run's attempt records."""
    return {
        (a.task_run.task_name, a.attempt): (a.status, a.output, a.error)
        for a in TaskAttempt.objects.filter(task_run__run=run).select_related("task_run")
    }


@pytest.fixture
def chain(db):
    """a -> b -> c; a -> d."""
    return register_task_pipeline(
        "attempts_chain",
        {
            "a": {"function": t.work},
            "b": {"function": t.work, "depends_on": ["a"]},
            "c": {"function": t.work, "depends_on": ["b"]},
            "d": {"function": t.work, "depends_on": ["a"]},
        },
    )


def test_a_first_attempt_that_succeeds_records_no_attempt(chain, marker_dir):
    """The engine's hot path writes nothing more: not one statement touches the attempts table."""
    with CaptureQueriesContext(connection) as queries:
        run = run_flow(chain, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.SUCCEEDED
    assert not any(TaskAttempt._meta.db_table in query["sql"] for query in queries.captured_queries)
    assert not TaskAttempt.objects.exists()


def test_clearing_with_downstream_keeps_each_earlier_outcome(chain, marker_dir):
    """b, c (downstream) and their first outputs are kept as attempt 1; the task runs hold attempt 2's."""
    run = run_flow(chain, {"marker_dir": str(marker_dir)})
    first = dict(run.task_runs.values_list("task_name", "output"))
    run_actions(lambda: clear_tasks(run, ["b"]))
    assert set(statuses(run).values()) == {TaskState.SUCCEEDED}
    assert recorded(run) == {
        ("b", 1): (TaskState.SUCCEEDED, first["b"], ""),
        ("c", 1): (TaskState.SUCCEEDED, first["c"], ""),
    }
    now = {tr.task_name: tr for tr in run.task_runs.all()}
    assert now["b"].attempt == now["c"].attempt == 2
    assert now["b"].output["attempt"] == 2
    assert now["b"].output != first["b"]
    earlier = TaskAttempt.objects.get(task_run=now["b"], attempt=1)
    assert earlier.started_at is not None
    assert earlier.finished_at >= earlier.started_at
    assert run_problems(run) == []


def test_clearing_twice_before_the_task_starts_records_its_attempt_once(chain, marker_dir):
    """A task run back to pending has its attempt recorded: a second clear of it adds nothing."""
    run = run_flow(chain, {"marker_dir": str(marker_dir)})
    with local_queue():  # nothing runs: a is queued, b..d pending
        clear_tasks(run, ["a"])
        clear_tasks(run, ["b"])
    assert sorted(recorded(run)) == [("a", 1), ("b", 1), ("c", 1), ("d", 1)]
    assert recorded(run)[("a", 1)][0] == TaskState.SUCCEEDED


def test_a_queued_attempt_cleared_is_recorded_cancelled(chain, marker_dir):
    with local_queue():
        run = launch_flow(chain, {"marker_dir": str(marker_dir)})  # a queued, attempt 1
        clear_tasks(run, ["a"], downstream=False)
    assert recorded(run) == {("a", 1): (TaskState.CANCELLED, None, "")}
    assert run.task_runs.get(task_name="a").attempt == 2


def test_a_retry_after_failure_keeps_the_failed_attempts_error(db, marker_dir):
    flow = register_task_pipeline("attempts_retry", {"flaky": {"function": t.fail_first, "retries": 1}})
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.SUCCEEDED
    earlier = TaskAttempt.objects.get(task_run__run=run)
    assert (earlier.attempt, earlier.status, earlier.error) == (
        1,
        TaskState.FAILED,
        "ValueError: attempt 1 fails on purpose",
    )
    assert "Traceback" in earlier.traceback
    assert "fails on purpose" in earlier.traceback
    assert earlier.output is None
    assert earlier.finished_at is not None
    current = run.task_runs.get()
    assert (current.attempt, current.output) == (2, {"attempt": 2})


def test_a_delayed_retry_records_the_failure_once(db, marker_dir):
    """Recorded as the attempt fails (its error then stays while it waits); resuming it adds nothing."""
    flow = register_task_pipeline(
        "attempts_delayed", {"flaky": {"function": t.fail_first, "retries": 1, "retry_delay": 60}}
    )
    run = run_actions(lambda: launch_flow(flow, {"marker_dir": str(marker_dir)}))
    assert statuses(run) == {"flaky": TaskState.RETRYING}
    assert recorded(run) == {("flaky", 1): (TaskState.FAILED, None, "ValueError: attempt 1 fails on purpose")}
    task_run = run.task_runs.get()
    run_actions(lambda: resume_retry(task_run.pk, 1))
    assert statuses(run) == {"flaky": TaskState.SUCCEEDED}
    assert list(recorded(run)) == [("flaky", 1)]


def test_a_lost_attempt_is_recorded_failed(db, marker_dir):
    flow = register_task_pipeline("attempts_lost", {"slow": {"function": t.work}})
    with local_queue() as queue:
        run = launch_flow(flow, {"marker_dir": str(marker_dir)})
        task_run_id, attempt, run_id, _ = queue.next_ready()
        assert claim(task_run_id, attempt, run_id) is not None
        assert recover_lost_attempt(run.pk, "slow", attempt) == 1
    assert recorded(run) == {
        ("slow", 1): (TaskState.FAILED, None, "attempt 1 lost its worker (no heartbeat)")
    }
    assert run.task_runs.get().attempt == 2


def test_a_mark_is_an_attempt_of_its_own(chain, marker_dir):
    """Marked failed, a succeeded task keeps its output as attempt 1; the mark is attempt 2, with its log line."""
    run = run_flow(chain, {"marker_dir": str(marker_dir)})
    c = run.task_runs.get(task_name="c")
    output = c.output
    mark_task(c, TaskState.FAILED, "wrong data")
    c.refresh_from_db()
    assert (c.attempt, c.status, c.error, c.output) == (
        2,
        TaskState.FAILED,
        "marked failed: wrong data",
        None,
    )
    assert recorded(run) == {("c", 1): (TaskState.SUCCEEDED, output, "")}
    assert TaskLog.objects.get(task_run=c, source="flowforge").attempt == 2
    run_actions(lambda: clear_tasks(run, ["c"]))
    assert recorded(run)[("c", 2)] == (TaskState.FAILED, None, "marked failed: wrong data")
    assert run.task_runs.get(task_name="c").output["attempt"] == 3


def wide_flow(name, width):
    """root -> width leaves: clearing the root clears them all."""
    pipeline = {"root": {"function": t.takes_only_n, "params": {"n": 1}}}
    pipeline.update(
        {
            f"leaf{i}": {"function": t.takes_only_n, "depends_on": ["root"], "params": {"n": i}}
            for i in range(width)
        }
    )
    return register_task_pipeline(name, pipeline)


def clear_queries(flow):
    """The statements of clearing a finished run's root with its downstream, and the attempts it recorded."""
    run = run_flow(flow)
    assert run.status == RunState.SUCCEEDED
    with local_queue(), CaptureQueriesContext(connection) as queries:
        clear_tasks(run, ["root"])
    return queries.captured_queries, TaskAttempt.objects.filter(task_run__run=run).count()


def test_clearing_many_tasks_records_their_attempts_in_a_constant_number_of_statements(db):
    small, small_recorded = clear_queries(wide_flow("attempts_small", 5))
    big, big_recorded = clear_queries(wide_flow("attempts_big", 450))
    assert (small_recorded, big_recorded) == (6, 451)
    table = TaskAttempt._meta.db_table
    inserts = [q for q in big if q["sql"].startswith(f'INSERT INTO "{table}"')]
    assert len(inserts) == 1
    assert len(big) == len(small), [q["sql"][:80] for q in big]
