"""The lookups of the lost-work check, the health check and the task run list use their indexes."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine import admission, recovery, watchdog
from flowforge_admin.engine.transitions import changing
from flowforge_admin.health import oldest_queued_age
from flowforge_admin.models import TaskRun
from flowforge_admin.states import TaskState

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def statistics():
    """On PostgreSQL, a run with task runs in several statuses, and the table's statistics.

    On an empty table without statistics its planner costs all the partial
    indexes of one status alike and may pick any; it picks what it would pick in use once it
    knows how many rows each holds. (Nothing here is stale: the checks read, and change nothing.)
    Returns the run.
    """
    flow = register_task_pipeline(
        "statistics", {f"t{i}": {"function": t.takes_only_n, "params": {"n": i}} for i in range(400)}
    )
    run = launch_flow(flow)  # every task queued
    TaskRun.objects.filter(run=run, task_name__in=[f"t{i}" for i in range(100)]).update(
        status=TaskState.SUCCEEDED
    )
    TaskRun.objects.filter(run=run, task_name__in=[f"t{i}" for i in range(100, 150)]).update(
        status=TaskState.RUNNING, heartbeat_at=timezone.now()
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TaskRun._meta.db_table}")
    return run


def plan(sql):
    """The database's plan for ``sql``, with sequential scans discouraged on PostgreSQL.

    The test tables are tiny, where PostgreSQL would rather scan them whole.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan TO off")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row) for row in cursor.fetchall())


def task_run_reads(func):
    """The SELECTs of the task run table that ``func()`` runs, as executed."""
    with CaptureQueriesContext(connection) as captured:
        func()
    return [
        query["sql"]
        for query in captured
        if query["sql"].startswith("SELECT") and 'FROM "flowforge_admin_taskrun"' in query["sql"]
    ]


def test_the_lost_work_check_reads_only_its_partial_indexes():
    reads = task_run_reads(recovery.check_lost_work)
    expected = [
        "flowforge_taskrun_heartbeat",
        "flowforge_taskrun_queued",
        "flowforge_taskrun_next_try",
        "flowforge_taskrun_next_check",  # waiting tasks whose next check is overdue
        # Approval steps whose timeout is overdue: either partial index of waiting task runs.
        ("flowforge_taskrun_next_check", "flowforge_taskrun_approvals"),
        "flowforge_taskrun_pool_wait",  # the pools some task waits for
    ]
    assert len(reads) == len(expected)
    for sql, indexes in zip(reads, expected, strict=True):
        indexes = (indexes,) if isinstance(indexes, str) else indexes
        assert any(index in plan(sql) for index in indexes), sql


def test_the_watchdog_reads_only_the_running_task_runs_partial_index():
    [sql] = task_run_reads(watchdog.orphaned)
    assert "flowforge_taskrun_heartbeat" in plan(sql), sql


def test_the_held_runs_come_from_their_partial_index():
    with CaptureQueriesContext(connection) as captured:
        admission.flows_with_held_runs()
    [sql] = [query["sql"] for query in captured]
    assert "flowforge_run_held" in plan(sql)


def test_the_oldest_queued_task_comes_from_the_queued_index():
    [sql] = task_run_reads(oldest_queued_age)
    assert "flowforge_taskrun_queued" in plan(sql)


def test_the_task_run_list_filtered_by_status_uses_the_status_index():
    query = TaskRun.objects.filter(status=TaskState.FAILED).order_by("-id").query
    with connection.cursor() as cursor:
        sql = cursor.mogrify(*query.sql_with_params()) if connection.vendor == "postgresql" else None
    if sql is None:
        sql = str(query).replace("= failed", "= 'failed'")
    assert "flowforge_taskrun_status" in plan(sql)


def test_a_worker_looks_for_queued_work_to_take_along_in_its_runs_partial_index(statistics):
    with changing(statistics.pk) as change:
        [sql] = task_run_reads(lambda: change._take_queued(1))
    assert "flowforge_taskrun_run_queued" in plan(sql), sql
