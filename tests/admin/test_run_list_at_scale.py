"""The run list and the run page with 100 000 runs (on PostgreSQL too: tests/test_postgresql.py).

The pages must answer, filtered or not, in a number of queries that does not
grow with the table; an unfiltered list on PostgreSQL estimates its size
instead of counting the whole table.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flowforge_admin.admin.paginator import EXACT_BELOW, estimated_rows
from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import FlowRun, RunSnapshot, TaskFunction
from flowforge_admin.states import RunState

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

RUNS = 100_000
STATUSES = [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.SUCCEEDED]
LIST = reverse("admin:flowforge_admin_flowrun_changelist")


@pytest.fixture(scope="module")
def many_runs(django_db_setup, django_db_blocker):
    """100 000 runs of two flows over a year, copied from one real run; removed after the module."""
    with django_db_blocker.unblock():
        # Written outside the tests' transactions: everything made here is removed at the end.
        functions_before = set(TaskFunction.objects.values_list("pk", flat=True))
        flows = [
            register_task_pipeline(
                name, {"ok": {"function": t.echo}, "then": {"function": t.echo, "depends_on": ["ok"]}}
            )
            for name in ("orders_at_scale", "payments_at_scale")
        ]
        model = run_flow(flows[0])
        FlowRun.objects.bulk_create(
            FlowRun(
                flow=flows[i % 2],
                flow_name=flows[i % 2].name,
                flow_version=1,
                params={},
                status=STATUSES[i % len(STATUSES)],
                triggered_by=FlowRun.Trigger.SCHEDULE,
                succeeded_count=2,
            )
            for i in range(len(STATUSES))
        )
        copy_runs_until(RUNS, first=model.pk + 1)
        with connection.cursor() as cursor:
            # Every copy runs the model's definition (its run page reads it).
            cursor.execute(
                f"INSERT INTO {snapshots()} (run_id, data) SELECT r.id, s.data FROM {table()} r, {snapshots()} s "
                "WHERE s.run_id = %s AND r.id > %s",
                [model.pk, model.pk],
            )
        # Spread them over the last year (created_at is set on insert), for the date drill-down.
        now = timezone.now()
        step = RUNS // 12 + 1
        for month in range(12):
            FlowRun.objects.filter(
                pk__gte=model.pk + month * step, pk__lt=model.pk + (month + 1) * step
            ).update(created_at=now - timedelta(days=30 * (11 - month)))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(FlowRun._meta.db_table)}")
        yield model
        # The copies have no task runs or logs: one DELETE, not Django's cascade collector.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {snapshots()} WHERE run_id > %s", [model.pk])
            cursor.execute(f"DELETE FROM {table()} WHERE id > %s", [model.pk])
        model.delete()
        for flow in flows:
            flow.delete()
        TaskFunction.objects.exclude(pk__in=functions_before).delete()


def table():
    return connection.ops.quote_name(FlowRun._meta.db_table)


def snapshots():
    return connection.ops.quote_name(RunSnapshot._meta.db_table)


def copy_runs_until(total, first):
    """Double the runs from ``first`` on with INSERT ... SELECT until there are ``total`` runs in all."""
    fields = [f.column for f in FlowRun._meta.concrete_fields if f.column != "id"]
    columns = ", ".join(connection.ops.quote_name(column) for column in fields)
    with connection.cursor() as cursor:
        while (count := FlowRun.objects.count()) < total:
            cursor.execute(
                f"INSERT INTO {table()} ({columns}) SELECT {columns} FROM {table()} "
                f"WHERE id >= %s ORDER BY id LIMIT %s",
                [first, total - count],
            )


def queries_of(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return response, queries


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?p=1500",
        "?status__exact=failed",
        "?q=payments",
        "?q=%23{pk}",
        "?flow__id__exact={flow}",
        "?created_at__year={year}",
        "?o=-4",
    ],
)
def test_run_list_pages_answer_with_100_000_runs(admin_client, many_runs, query):
    response, queries = queries_of(
        admin_client, LIST + query.format(pk=many_runs.pk, flow=many_runs.flow_id, year=timezone.now().year)
    )
    assert len(response.context["cl"].result_list) >= 1
    assert len(queries) <= 8, [q["sql"] for q in queries]


def test_the_unfiltered_list_does_not_count_the_whole_table_on_postgresql(admin_client, many_runs):
    response, queries = queries_of(admin_client, LIST)
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    if connection.vendor == "postgresql":
        estimate = estimated_rows(FlowRun.objects.all())
        assert estimate >= EXACT_BELOW
        assert response.context["cl"].result_count == estimate
        assert counts == []
    else:
        # SQLite keeps no row estimate: it counts (a few milliseconds at this size).
        assert response.context["cl"].result_count == RUNS
        assert len(counts) == 1


def test_a_filtered_list_counts_exactly(admin_client, many_runs):
    response, _ = queries_of(admin_client, LIST + "?status__exact=cancelled")
    assert response.context["cl"].result_count == FlowRun.objects.filter(status=RunState.CANCELLED).count()


def test_run_page_answers_with_100_000_runs(admin_client, many_runs):
    newest = FlowRun.objects.order_by("-pk").first()
    for run in (many_runs, newest):
        response, _ = queries_of(admin_client, reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]))
        assert f"#{run.pk}" in response.text
