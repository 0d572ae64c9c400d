"""Flow and Task models, and the storage of whole definitions."""

import threading

import pytest
from django.core import serializers
from django.db import connections
from django.db.models import Count

from flowforge_admin.definitions import store
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.models import Flow, Task

from ..conftest import DEMO, make_flow, tree_errors

pytestmark = pytest.mark.django_db


def demo_spec(name="flow"):
    return FlowSpec(
        name=name,
        display_name="A flow",
        params={"n": 1},
        tasks=(
            TaskSpec("fetch", verbose_name="Fetch"),
            TaskSpec("a", parent="fetch", function=DEMO + "fetch_data1", params={"n_rows": 3}),
            TaskSpec("b", parent="fetch", function=DEMO + "fetch_data2", retries=2, retry_delay=5, timeout=9),
            TaskSpec("clean", function=DEMO + "clean_data", depends_on=("a", "fetch")),
        ),
    )


def test_read_flow_spec_returns_what_write_flow_stored():
    flow, outcome = store.write_flow(demo_spec(), origin=Flow.Origin.ADMIN)
    assert outcome == "created"
    assert store.read_flow_spec(flow) == demo_spec()
    assert store.read_flow_spec(flow).signature() == flow.definition_hash


def test_write_flow_reports_unchanged_and_changed():
    store.write_flow(demo_spec(), origin=Flow.Origin.ADMIN)
    flow, outcome = store.write_flow(demo_spec(), origin=Flow.Origin.ADMIN)
    assert (outcome, flow.version) == ("unchanged", 1)
    changed = FlowSpec(**{**demo_spec().__dict__, "params": {"n": 2}})
    flow, outcome = store.write_flow(changed, origin=Flow.Origin.ADMIN)
    assert (outcome, flow.version) == ("changed", 2)


def test_sync_version_counts_real_changes_only():
    flow = make_flow("flow", demo_spec().tasks)
    assert store.sync_version(flow) is False
    task = Task.objects.get(flow=flow, name="b")
    task.retries = 3
    task.save()
    assert store.sync_version(flow) is True
    assert flow.version == 2
    task.retries = 2
    task.save()
    assert store.sync_version(flow) is True
    assert flow.version == 3
    assert store.sync_version(flow) is False


def test_sibling_order_is_part_of_the_definition():
    flow = make_flow("flow", demo_spec().tasks)
    a, b = Task.objects.get(name="a"), Task.objects.get(name="b")
    b.move_to(a, "left")
    assert [t.name for t in Task.objects.get(name="fetch").get_children()] == ["b", "a"]
    assert store.sync_version(flow) is True


def test_renumber_trees_repairs_colliding_tree_ids():
    first = make_flow("first", demo_spec().tasks)
    second = make_flow("second", demo_spec().tasks)
    # Give the second flow the first flow's tree ids, as a fixture load might.
    roots = {task.pk: task.get_root().name for task in Task.objects.filter(flow=second)}
    first_ids = {task.name: task.tree_id for task in Task.objects.filter(flow=first, parent=None)}
    for pk, root in roots.items():
        Task.objects.filter(pk=pk).update(tree_id=first_ids[root])
    assert tree_errors(Task.objects.all()) != []
    store.renumber_trees(second)
    assert tree_errors(Task.objects.all()) == []
    assert {t.tree_id for t in first.tasks.all()}.isdisjoint({t.tree_id for t in second.tasks.all()})


def test_natural_keys_round_trip_through_serialization():
    flow = make_flow("flow", demo_spec().tasks)
    data = serializers.serialize(
        "json", [flow, *flow.tasks.all()], use_natural_foreign_keys=True, use_natural_primary_keys=True
    )
    assert '"pk"' not in data
    assert Task.objects.get_by_natural_key("flow", "clean") == Task.objects.get(name="clean")
    assert Flow.objects.get_by_natural_key("flow") == flow


def test_labels():
    flow = make_flow("flow", demo_spec().tasks, display_name="")
    assert str(flow) == "flow"
    assert str(Task.objects.get(name="fetch")) == "Fetch"
    assert Task.objects.get(name="fetch").is_group
    assert not Task.objects.get(name="a").is_group
    assert flow.get_absolute_url() == f"/admin/flowforge_admin/flow/{flow.pk}/change/"


@pytest.mark.django_db(transaction=True)
def test_flows_written_at_the_same_time_get_trees_of_their_own():
    """Four writers at once (four machines starting): no two flows share a tree id."""
    writers, flows_each = 4, 5
    start = threading.Barrier(writers)
    failures = []

    def write(writer):
        try:
            start.wait()
            for number in range(flows_each):
                store.write_flow(demo_spec(f"race_{writer}_{number}"), origin=Flow.Origin.CODE)
        except Exception as error:  # reported below, with the writer that met it
            failures.append((writer, error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    flows_per_tree = Task.objects.values("tree_id").annotate(flows=Count("flow", distinct=True))
    assert {row["flows"] for row in flows_per_tree} == {1}
    assert Flow.objects.count() == writers * flows_each
    assert tree_errors(Task.objects.all()) == []
