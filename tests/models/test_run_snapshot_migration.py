"""Migration 0005 moves each run's snapshot to RunSnapshot, and back when reversed."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("flowforge_admin", "0004_run_trigger_index")]
AFTER = [("flowforge_admin", "0005_run_snapshot_table")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    """The newest migration of every app, where the rest of the suite expects the database to be."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_snapshots_move_to_their_table_and_back():
    old = migrate(BEFORE)
    FlowRun = old.get_model("flowforge_admin", "FlowRun")
    snapshots = [{"flow": f"f{n}", "tasks": [{"name": "a", "depends_on": []}] * n} for n in (1, 2)]
    runs = [
        FlowRun.objects.create(flow_name=s["flow"], flow_version=1, snapshot=s, params={"n": n})
        for n, s in enumerate(snapshots)
    ]
    try:
        new = migrate(AFTER)
        RunSnapshot = new.get_model("flowforge_admin", "RunSnapshot")
        assert {row.run_id: row.data for row in RunSnapshot.objects.all()} == {
            run.pk: snapshot for run, snapshot in zip(runs, snapshots, strict=True)
        }
        back = migrate(BEFORE)
        restored = back.get_model("flowforge_admin", "FlowRun").objects.order_by("pk")
        assert [run.snapshot for run in restored] == snapshots
    finally:
        migrate(latest())  # the rows go with the test's flush
