"""The worker entry point, one message at a time (no cluster); the lost-work check is in test_recovery.py."""

import functools

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from flowforge_admin.api import (
    cancel_run,
    launch_flow,
    mark_task,
    register_task_pipeline,
)
from flowforge_admin.engine.worker import claim, execute_task, record_success
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import FlowRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import deliver, messages, side_effects, task_run

pytestmark = pytest.mark.django_db


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
    # Claim: read that the attempt is still queued, then the run's counters,
    # the task run. Result: lock the run moving its counters, the task run,
    # read the next task, queue it, the run's counters for that; then the
    # broker's message for it (the ORM broker here: one INSERT).
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, b.pk, 1, run.pk)
    statements = hot_path_statements(captured)
    assert len(statements) == 9, "\n".join(statements)
    assert messages()[-1] == (c.pk, 1)
    b.refresh_from_db()
    assert (b.status, b.output, b.started_at is not None) == (TaskState.SUCCEEDED, 4, True)
    deliver(django_capture_on_commit_callbacks, c.pk, 1)
    run.refresh_from_db()
    counts = (run.succeeded_count, run.running_count, run.queued_count, run.pending_count)
    assert (run.status, counts) == (RunState.SUCCEEDED, (3, 0, 0, 0))


def test_a_task_nothing_waits_for_costs_one_read_and_four_writes(db, django_capture_on_commit_callbacks):
    """A read that the attempt is still queued; claim and result each lock the run with the counters' own update, then move the task run."""
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
    assert [statement.split()[0] for statement in statements] == ["SELECT", *["UPDATE"] * 4], statements
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
    # As a chain hop's nine (d and c read together), and b's upstream outputs for its context.
    assert len(statements) == 10, "\n".join(statements)
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
