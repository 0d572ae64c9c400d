"""Migration 0011 gives existing runs their creation time as logical date."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("flowforge_admin", "0010_artifacts_metrics_tags")]
AFTER = [("flowforge_admin", "0011_run_logical_date")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_runs_get_their_creation_time_as_logical_date():
    old = migrate(BEFORE)
    FlowRun = old.get_model("flowforge_admin", "FlowRun")
    created = [datetime.datetime(2025, month, 1, tzinfo=datetime.UTC) for month in (1, 6)]
    for moment in created:
        run = FlowRun.objects.create(flow_name="f", flow_version=1)
        FlowRun.objects.filter(pk=run.pk).update(created_at=moment)
    try:
        new = migrate(AFTER)
        rows = new.get_model("flowforge_admin", "FlowRun").objects.order_by("pk")
        assert [(run.logical_date, run.data_interval_start) for run in rows] == [(c, None) for c in created]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_a_run_inserted_without_a_logical_date_gets_the_insert_time():
    """The previous release's code, still running during an upgrade, does not name the column."""
    from django.db import connection as db
    from django.utils import timezone

    from flowforge_admin.models import FlowRun

    columns = "flow_name, flow_version, params, status, triggered_by, created_at"
    counters = [f.column for f in FlowRun._meta.concrete_fields if f.column.endswith("_count")]
    names = ", ".join([columns, *counters])
    values = ", ".join(["%s"] * (6 + len(counters)))
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {db.ops.quote_name(FlowRun._meta.db_table)} ({names}) VALUES ({values})",
            ["old", 1, "{}", "queued", "code", timezone.now(), *[0] * len(counters)],
        )
    run = FlowRun.objects.get(flow_name="old")
    assert abs(run.logical_date - timezone.now()) < datetime.timedelta(minutes=5)
