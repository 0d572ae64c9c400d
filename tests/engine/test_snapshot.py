"""The run's snapshot: what launch freezes, the graph the engine asks, read once per process."""

import datetime

import pytest

from flowforge_admin.api import launch_flow
from flowforge_admin.engine.snapshot import Snapshot, snapshot_of
from flowforge_admin.models import FlowRun, RunSnapshot

pytestmark = pytest.mark.django_db


def test_a_launched_run_freezes_its_definition(nested):
    run = launch_flow(nested, {"seconds": 0})
    snapshot = snapshot_of(run.pk, run.created_at)
    assert snapshot.data["flow"] == "nested"
    assert snapshot.names == ("start", "group", "x", "y", "z", "after")
    assert snapshot.run_params == {"seconds": 0}
    assert snapshot.children["group"] == ("x", "y", "z")
    assert snapshot.is_group("group")
    assert snapshot.upstream("y") == ["x", "start"]
    assert snapshot.ancestors("y") == ["group"]
    assert snapshot.dependents["group"] == ("after",)
    assert snapshot.function("x") == "tests.engine_tasks.work"


def test_the_snapshot_is_read_once_per_process(nested, django_assert_num_queries):
    run = launch_flow(nested)  # launch starts the run from its snapshot: read here
    with django_assert_num_queries(0):
        first = snapshot_of(run.pk, run.created_at)
        again = snapshot_of(run.pk, run.created_at)
    assert again.graph is first.graph  # one graph, shared


def test_the_cache_is_keyed_by_creation_time_too(nested, django_assert_num_queries):
    """A reused id (a test database, a restored backup) never finds another run's snapshot."""
    run = launch_flow(nested)
    assert snapshot_of(run.pk, run.created_at).data["flow"] == "nested"
    other = {"flow": "other", "tasks": [{"name": "only", "parent": None, "depends_on": [], "function": ""}]}
    RunSnapshot.objects.filter(run=run).update(data=other)
    later = run.created_at + datetime.timedelta(seconds=1)
    FlowRun.objects.filter(pk=run.pk).update(created_at=later)
    with django_assert_num_queries(1):
        assert snapshot_of(run.pk, later).names == ("only",)


def test_a_snapshot_wraps_the_graph_of_its_tasks():
    data = {
        "tasks": [
            {"name": "a", "parent": None, "depends_on": [], "function": "f"},
            {"name": "b", "parent": None, "depends_on": ["a"], "function": ""},
        ]
    }
    snapshot = Snapshot(data)
    assert snapshot.graph.downstream("a") == ["a", "b"]
    assert snapshot.tasks["b"] is data["tasks"][1]
    assert (snapshot.params, snapshot.run_params) == ({}, {})
