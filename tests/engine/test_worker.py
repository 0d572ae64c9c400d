"""The worker entry point and the lost-work check, one message at a time (no cluster)."""

import datetime
import functools

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from flowforge_admin.api import (
    cancel_run,
    launch_flow,
    mark_task,
    register_task_pipeline,
    rerun_failed,
    run_flow,
)
from flowforge_admin.engine import recovery
from flowforge_admin.engine.dispatch import WORKER_ENTRY, local_queue
from flowforge_admin.engine.local import _execute
from flowforge_admin.engine.worker import claim, execute_task, record_success
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import FlowRun, TaskRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import side_effects
from .invariants import run_problems

pytestmark = pytest.mark.django_db


def messages():
    """Return the (task run id, attempt) of every message waiting in the ORM broker."""
    found = []
    for message in OrmQ.objects.order_by("id"):
        assert message.task["func"] == WORKER_ENTRY
        task_run_id, attempt, run_id = message.task["args"]
        assert TaskRun.objects.get(pk=task_run_id).run_id == run_id
        found.append((task_run_id, attempt))
        assert message.task["group"] == str(run_id)
    return found


def task_run(run, name):
    return run.task_runs.get(task_name=name)


@pytest.fixture
def launched(diamond, marker_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return launch_flow(diamond, {"marker_dir": str(marker_dir)})


def hot_path_statements(captured):
    """The statements of a hop that read or write tables.

    The test's own transaction turns BEGIN and COMMIT into savepoints; SET LOCAL
    (PostgreSQL) changes how the commit waits, see the test of it below.
    """
    return [
        query["sql"]
        for query in captured
        if "SAVEPOINT" not in query["sql"] and not query["sql"].startswith("SET LOCAL")
    ]


def deliver(django_capture_on_commit_callbacks, task_run_id, attempt, run_id=None):
    with django_capture_on_commit_callbacks(execute=True):
        execute_task(task_run_id, attempt, run_id)


def test_launch_enqueues_only_the_first_ready_tasks_after_commit(launched):
    a = task_run(launched, "a")
    assert launched.status == RunState.QUEUED
    assert messages() == [(a.pk, 1)]
    assert (a.status, a.attempt) == (TaskState.QUEUED, 1)
    assert launched.pending_count == 3
    assert launched.queued_count == 1


def test_a_message_delivered_twice_runs_once(launched, marker_dir, django_capture_on_commit_callbacks):
    a = task_run(launched, "a")
    deliver(django_capture_on_commit_callbacks, a.pk, 1)
    deliver(django_capture_on_commit_callbacks, a.pk, 1)
    assert side_effects(marker_dir) == ["a"]
    a.refresh_from_db()
    assert (a.status, a.attempt) == (TaskState.SUCCEEDED, 1)


def test_a_message_without_its_run_id_still_runs(launched, marker_dir, django_capture_on_commit_callbacks):
    """Messages sent by the version before the run id was added to them."""
    a = task_run(launched, "a")
    with django_capture_on_commit_callbacks(execute=True):
        execute_task(a.pk, 1)
    assert side_effects(marker_dir) == ["a"]
    a.refresh_from_db()
    assert a.status == TaskState.SUCCEEDED


def test_a_message_for_another_attempt_does_nothing(launched, marker_dir, django_capture_on_commit_callbacks):
    a = task_run(launched, "a")
    deliver(django_capture_on_commit_callbacks, a.pk, 2, launched.pk)
    assert side_effects(marker_dir) == []
    a.refresh_from_db()
    assert a.status == TaskState.QUEUED
    launched.refresh_from_db()  # the claim's counters moved back with it
    assert (launched.status, launched.queued_count, launched.running_count) == (RunState.QUEUED, 1, 0)


def test_common_downstream_is_enqueued_once(launched, django_capture_on_commit_callbacks):
    a, b, c, d = (task_run(launched, name) for name in "abcd")
    deliver(django_capture_on_commit_callbacks, a.pk, 1)
    assert messages()[1:] == [(b.pk, 1), (c.pk, 1)]
    deliver(django_capture_on_commit_callbacks, b.pk, 1)
    deliver(django_capture_on_commit_callbacks, c.pk, 1)
    deliver(django_capture_on_commit_callbacks, c.pk, 1)  # redelivered: nothing more
    assert messages().count((d.pk, 1)) == 1
    deliver(django_capture_on_commit_callbacks, d.pk, 1)
    launched.refresh_from_db()
    assert launched.status == RunState.SUCCEEDED
    assert launched.succeeded_count == 4


def test_run_goes_running_when_its_first_task_starts(
    launched, django_capture_on_commit_callbacks, monkeypatch
):
    seen = {}

    @functools.wraps(t.work)  # stands in for t.work under its name, as the worker's allowlist expects
    def spy(context, marker_dir, seconds=0.0):
        seen["run"] = launched.__class__.objects.get(pk=launched.pk).status
        return None

    monkeypatch.setattr(t, "work", spy)
    deliver(django_capture_on_commit_callbacks, task_run(launched, "a").pk, 1)
    assert seen["run"] == RunState.RUNNING


def test_cancel_stops_what_has_not_started_and_discards_running_results(
    launched, marker_dir, django_capture_on_commit_callbacks
):
    a = task_run(launched, "a")
    cancel_run(launched)
    assert launched.status == RunState.CANCELLED
    assert set(launched.task_runs.values_list("status", flat=True)) == {TaskState.CANCELLED}
    deliver(django_capture_on_commit_callbacks, a.pk, 1)  # its message arrives late
    assert side_effects(marker_dir) == []
    with pytest.raises(InvalidTransition, match="only queued or running runs can be cancelled"):
        cancel_run(launched)


def run_row(run):
    """The run's row but its revision (counted up by every change, even one that changes nothing)."""
    row = FlowRun.objects.values().get(pk=run.pk)
    del row["revision"]
    return row


def test_a_result_discarded_after_a_cancel_leaves_the_counts_as_the_cancel_made_them(launched):
    """The result moves the counters as it locks the run; finding the task cancelled, it moves them back."""
    a = task_run(launched, "a")
    assert claim(a.pk, 1, launched.pk) is not None
    cancel_run(launched)
    counts = run_row(launched)
    record_success(launched.pk, "a", 1, output="late")
    assert run_row(launched) == counts
    assert (task_run(launched, "a").status, task_run(launched, "a").output) == (TaskState.CANCELLED, None)


def test_a_result_discarded_after_a_mark_moves_the_counts_back(launched, django_capture_on_commit_callbacks):
    """Another task still running, the result's counter move goes through, then is undone with the result."""
    deliver(django_capture_on_commit_callbacks, task_run(launched, "a").pk, 1)
    b, c = task_run(launched, "b"), task_run(launched, "c")
    assert claim(b.pk, 1, launched.pk)
    assert claim(c.pk, 1, launched.pk)
    mark_task(b, TaskState.FAILED, "wrong data")
    counts = run_row(launched)
    assert counts["running_count"] == 1  # c: enough for the result's counter move to go through
    record_success(launched.pk, "b", 1, output="late")
    assert run_row(launched) == counts
    assert task_run(launched, "b").status == TaskState.FAILED


def make_stale(task_run_obj, **fields):
    TaskRun.objects.filter(pk=task_run_obj.pk).update(**fields)


def test_lost_worker_gives_a_new_attempt_then_fails(launched, django_capture_on_commit_callbacks, settings):
    settings.FLOWFORGE_MAX_LOST_ATTEMPTS = 2
    a = task_run(launched, "a")
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    # Attempt 1 was claimed by a worker that then died.
    make_stale(a, status=TaskState.RUNNING, heartbeat_at=long_ago)
    _fix_counts(launched, TaskState.QUEUED, TaskState.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 1
    a.refresh_from_db()
    assert (a.status, a.attempt, a.lost_attempts) == (TaskState.QUEUED, 2, 1)
    assert a.error == "attempt 1 lost its worker (no heartbeat)"
    assert (a.pk, 2) in messages()
    # The old message, delivered again, does nothing.
    with django_capture_on_commit_callbacks(execute=True):
        execute_task(a.pk, 1)
    a.refresh_from_db()
    assert a.status == TaskState.QUEUED
    # Lost once more: that is the limit.
    make_stale(a, status=TaskState.RUNNING, heartbeat_at=long_ago)
    _fix_counts(launched, TaskState.QUEUED, TaskState.RUNNING)
    recovery.check_lost_work()
    a.refresh_from_db()
    assert a.status == TaskState.FAILED
    assert "2 attempts lost, giving up" in a.error
    launched.refresh_from_db()
    assert launched.status == RunState.FAILED
    assert launched.upstream_failed_count == 3


def _fix_counts(run, old, new):
    """Keep the run's counters true after a hand-made status change."""
    from django.db.models import F

    type(run).objects.filter(pk=run.pk).update(
        **{f"{old}_count": F(f"{old}_count") - 1, f"{new}_count": F(f"{new}_count") + 1}
    )


def test_stale_queued_message_is_sent_again_once(launched, django_capture_on_commit_callbacks):
    a = task_run(launched, "a")
    make_stale(a, queued_at=timezone.now() - datetime.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 1
        assert recovery.check_lost_work() == 0  # queued_at moved: not again at once
    assert messages() == [(a.pk, 1), (a.pk, 1)]


def test_due_retry_is_resumed_by_the_check(db, marker_dir, django_capture_on_commit_callbacks):
    flow = register_task_pipeline(
        "retry_later", {"flaky": {"function": t.fail_first, "retries": 1, "retry_delay": 60}}
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    flaky = run.task_runs.get()
    deliver(django_capture_on_commit_callbacks, flaky.pk, 1)
    flaky.refresh_from_db()
    assert flaky.status == TaskState.RETRYING
    # Its delay (retry_delay=60 for the first retry) counts from when the attempt failed.
    delay = flaky.next_attempt_at - flaky.started_at
    assert datetime.timedelta(minutes=1) <= delay < datetime.timedelta(minutes=1.1)
    # The one-off Django-Q2 schedule that will resume it:
    schedule = Schedule.objects.get(func="flowforge_admin.engine.recovery.resume_retry")
    assert (schedule.schedule_type, schedule.args) == (Schedule.ONCE, repr((flaky.pk, 1)))
    assert recovery.check_lost_work() == 0  # not due yet
    make_stale(flaky, next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 1
    flaky.refresh_from_db()
    assert (flaky.status, flaky.attempt) == (TaskState.QUEUED, 2)
    # The schedule firing late changes nothing more.
    assert recovery.resume_retry(flaky.pk, 1) == 0


def test_the_check_is_a_schedule_after_migrate():
    schedule = Schedule.objects.get(name=recovery.CHECK_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        recovery.CHECK_FUNC,
        Schedule.MINUTES,
        1,
        -1,
    )


def test_a_chain_hop_costs_a_fixed_number_of_statements(db, django_capture_on_commit_callbacks):
    """The worker's hot path, statement by statement; a new one here costs every task of every run."""
    chain = register_task_pipeline(
        "chain3",
        {
            "a": {"function": t.takes_only_n, "params": {"n": 1}},
            "b": {"function": t.takes_only_n, "params": {"n": 2}, "depends_on": ["a"]},
            "c": {"function": t.takes_only_n, "params": {"n": 3}, "depends_on": ["b"]},
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(chain)
    a, b, c = (task_run(run, name) for name in "abc")
    deliver(django_capture_on_commit_callbacks, a.pk, 1)
    # Claim: the run's counters, the task run. Result: lock the run moving its
    # counters, the task run, read the next task, queue it, the run's counters
    # for that; then the broker's message for it (the ORM broker here: one INSERT).
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, b.pk, 1, run.pk)
    statements = hot_path_statements(captured)
    assert len(statements) == 8, "\n".join(statements)
    assert messages()[-1] == (c.pk, 1)
    b.refresh_from_db()
    assert (b.status, b.output, b.started_at is not None) == (TaskState.SUCCEEDED, 4, True)
    deliver(django_capture_on_commit_callbacks, c.pk, 1)
    run.refresh_from_db()
    counts = (run.succeeded_count, run.running_count, run.queued_count, run.pending_count)
    assert (run.status, counts) == (RunState.SUCCEEDED, (3, 0, 0, 0))


def test_a_task_nothing_waits_for_costs_four_statements(db, django_capture_on_commit_callbacks):
    """Claim and result each lock the run with the counters' own update, then move the task run."""
    fan = register_task_pipeline(
        "fan3", {name: {"function": t.takes_only_n, "params": {"n": 1}} for name in "xyz"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(fan)
    x, y = task_run(run, "x"), task_run(run, "y")
    deliver(django_capture_on_commit_callbacks, x.pk, 1, run.pk)
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, y.pk, 1, run.pk)
    statements = hot_path_statements(captured)
    assert len(statements) == 4, "\n".join(statements)
    assert all(statement.startswith("UPDATE") for statement in statements)
    run.refresh_from_db()
    counts = (run.succeeded_count, run.running_count, run.queued_count)
    assert (run.status, counts) == (RunState.RUNNING, (2, 0, 1))


def test_a_workers_commits_do_not_wait_for_the_disk_unless_asked(
    launched, django_capture_on_commit_callbacks, settings
):
    """On PostgreSQL the claim and the result each turn synchronous_commit off, for their transaction only."""
    a, b, c = (task_run(launched, name) for name in "abc")
    relaxed = "SET LOCAL synchronous_commit TO OFF"
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, a.pk, 1, launched.pk)
    expected = 2 if connection.vendor == "postgresql" else 0  # SQLite does not wait for the disk anyway
    assert [query["sql"] for query in captured].count(relaxed) == expected
    settings.FLOWFORGE_DURABLE_TASK_COMMITS = True
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, b.pk, 1, launched.pk)
    assert relaxed not in [query["sql"] for query in captured]
    assert task_run(launched, "b").status == TaskState.SUCCEEDED


def test_a_fan_in_hop_reads_the_other_upstream_tasks_in_the_same_query(
    launched, django_capture_on_commit_callbacks
):
    a, b, c, d = (task_run(launched, name) for name in "abcd")
    deliver(django_capture_on_commit_callbacks, a.pk, 1)
    deliver(django_capture_on_commit_callbacks, c.pk, 1)
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, b.pk, 1, launched.pk)  # d waits for b and c: now ready
    statements = hot_path_statements(captured)
    # As a chain hop's eight (d and c read together), and b's upstream outputs for its context.
    assert len(statements) == 9, "\n".join(statements)
    assert messages()[-1] == (d.pk, 1)


def test_the_orm_brokers_message_is_written_in_the_transaction_that_queues_the_task(diamond, marker_dir):
    """All or nothing: a launch rolled back leaves no message behind (and needs no commit hook)."""
    seen = []

    def launch_then_give_up():
        with transaction.atomic():
            run = launch_flow(diamond, {"marker_dir": str(marker_dir)})
            seen.extend(messages())
            assert seen == [(task_run(run, "a").pk, 1)]
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        launch_then_give_up()
    assert seen  # written inside the transaction
    assert messages() == []
    assert not FlowRun.objects.exists()


def test_lost_work_check_settles_a_run_left_stuck_by_an_older_release(db):
    """A group left failed, its task marked succeeded and its downstream pending (issue 16), with nothing queued."""
    flow = register_task_pipeline(
        "stuck",
        {
            "g": {"nested_tasks": {"x": {"function": t.fail}}},
            "after": {"function": t.gather, "depends_on": ["g"]},
        },
    )
    run = run_flow(flow)
    # What mark_task used to leave behind.
    TaskRun.objects.filter(run=run, task_name="x").update(status=TaskState.SUCCEEDED)
    TaskRun.objects.filter(run=run, task_name="after").update(status=TaskState.PENDING)
    FlowRun.objects.filter(pk=run.pk).update(
        status=RunState.RUNNING,
        finished_at=None,
        succeeded_count=1,
        failed_count=1,
        pending_count=1,
        upstream_failed_count=0,
    )
    assert recovery.check_lost_work() == 1
    run.refresh_from_db()
    assert run.status == RunState.FAILED  # it can be re-run now
    assert recovery.check_lost_work() == 0
    with local_queue() as queue:
        rerun_failed(run)
        while (ready := queue.next_ready()) is not None:
            _execute(*ready)
    run.refresh_from_db()
    assert run.status == RunState.SUCCEEDED
    assert run_problems(run) == []
