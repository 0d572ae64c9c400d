"""The engine's hand-written hot-path statements do what the ORM would (also run on PostgreSQL)."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.db import sql
from flowforge_admin.models import FlowRun, TaskRun

from .. import engine_tasks as t
from ..engine.conftest import statuses

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    flow = register_task_pipeline(
        "three", {name: {"function": t.takes_only_n, "params": {"n": 1}} for name in ("a", "b", "c")}
    )
    return launch_flow(flow)


def test_update_matches_equal_and_listed_values_and_counts_rows(run):
    assert sql.update(TaskRun, {"run": run.pk, "task_name": ["a", "b"]}, {"status": "cancelled"}) == 2
    assert statuses(run) == {"a": "cancelled", "b": "cancelled", "c": "queued"}
    # A condition that no longer holds moves nothing (the engine's conditional update).
    assert (
        sql.update(TaskRun, {"run": run.pk, "task_name": "a", "status": "queued"}, {"status": "failed"}) == 0
    )
    assert sql.update(TaskRun, {"run": run.pk, "task_name": []}, {"status": "failed"}) == 0
    assert sql.update(FlowRun, {"pk": run.pk, "queued_count": sql.AtLeast(4)}, {"status": "failed"}) == 0
    assert sql.update(FlowRun, {"pk": run.pk, "queued_count": sql.AtLeast(3)}, {"status": "running"}) == 1
    assert statuses(run)["a"] == "cancelled"


def test_update_converts_values_as_their_fields_do(run):
    when = timezone.now()
    output = {"rows": [1, 2], "note": "ünïcode", "nothing": None}
    sql.update(
        TaskRun, {"run": run.pk, "task_name": "a"}, {"output": output, "finished_at": when, "error": "x"}
    )
    sql.update(TaskRun, {"run": run.pk, "task_name": "b"}, {"output": None})
    a, b = TaskRun.objects.filter(run=run, task_name__in=["a", "b"]).order_by("task_name")
    assert (a.output, a.finished_at, a.error) == (output, when, "x")
    assert b.output is None
    assert TaskRun.objects.filter(run=run, output__isnull=True).count() == 2  # SQL NULL, as the ORM stores it


def test_update_adds_keeps_and_returns(run):
    first, later = timezone.now() - datetime.timedelta(hours=1), timezone.now()
    rows = sql.update(
        FlowRun,
        {"pk": run.pk},
        add={"queued_count": -1, "running_count": 2},
        keep={"started_at": first},
        returning=("queued_count", "running_count", "started_at", "created_at"),
    )
    assert rows == [(2, 2, first, run.created_at)]
    assert all(timezone.is_aware(value) for value in rows[0][2:])  # as the ORM gives them
    # ``keep`` only fills an empty field.
    sql.update(FlowRun, {"pk": run.pk}, keep={"started_at": later})
    assert FlowRun.objects.get(pk=run.pk).started_at == first
    assert sql.update(FlowRun, {"pk": run.pk + 1000}, {"status": "failed"}, returning=("status",)) == []


def test_select_reads_fields_and_locks_where_the_database_can(run):
    rows = sql.select(TaskRun, ("task_name", "status", "attempt"), {"run": run.pk, "task_name": ["c", "a"]})
    assert sorted(rows) == [("a", "queued", 1), ("c", "queued", 1)]
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        [(status, created_at)] = sql.select(
            FlowRun, ("status", "created_at"), {"pk": run.pk}, for_update=True
        )
    assert (status, created_at) == (run.status, run.created_at)
    assert captured[-1]["sql"].endswith("FOR UPDATE") == connection.features.has_select_for_update


def test_load_fields_leave_out_json_fields():
    fields = sql.load_fields(FlowRun)
    assert {"id", "status", "created_at", "queued_count", "flow_id"} <= set(fields)
    assert not {"snapshot", "params"} & set(fields)


def test_insert_writes_rows_with_their_fields_conversions():
    when = timezone.now()
    rows = [("flowforge-sql-test", f"payload {number}", when) for number in range(650)]  # three statements
    sql.insert(OrmQ, ("key", "payload", "lock"), rows)
    added = OrmQ.objects.filter(key="flowforge-sql-test")
    assert added.count() == 650
    assert set(added.values_list("lock", flat=True)) == {when}
    assert sorted(added.values_list("payload", flat=True))[:2] == ["payload 0", "payload 1"]


def test_a_plain_insert_writes_ints_and_texts_as_they_are_in_one_statement_per_300_rows(run):
    """700 rows: three statements on SQLite; a COPY on PostgreSQL (not in Django's query log)."""
    names = [f"t{n}" for n in range(700)] + ["quote ' \" \\ é"]
    rows = [(run.pk, name, "pending", 0, 3, 0, "", "", "gpu", 2) for name in names]
    fields = ("run", "task_name", "status", "attempt", "max_attempts", "lost_attempts", "error", "traceback")
    with CaptureQueriesContext(connection) as captured:
        sql.insert(TaskRun, (*fields, "pool", "pool_slots"), rows, plain=True)
    assert len(captured) == (0 if connection.vendor == "postgresql" else 3)
    stored = TaskRun.objects.filter(run=run, task_name__in=names).order_by("pk")
    assert list(stored.values_list("task_name", flat=True)) == names
    assert set(stored.values_list("status", "attempt", "max_attempts", "pool", "pool_slots", "revision")) == {
        ("pending", 0, 3, "gpu", 2, 0)  # revision: its database default
    }


@pytest.mark.django_db(transaction=True)  # SET LOCAL lasts until the real transaction ends
def test_a_commit_that_does_not_wait_for_the_disk_is_postgresqls_synchronous_commit_off_for_one_transaction():
    def synchronous_commit():
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        sql.commit_without_waiting()
        if connection.vendor == "postgresql":
            assert synchronous_commit() == "off"
    if connection.vendor != "postgresql":
        # SQLite in WAL mode with synchronous=NORMAL does not wait for the disk anyway.
        assert len(captured) == 0
        return
    assert synchronous_commit() == "on"  # for that transaction only
