"""Mapped tasks (map_over) on real workers: one cluster for the module."""

import pytest

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine import control
from flowforge_admin.models import TaskRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from ..engine.cluster import Clusters, cluster_count, purge_queue
from .test_cluster import finished

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        purge_queue()
    clusters = Clusters(tmp_path_factory.mktemp("mapped-cluster"), cluster_count())
    clusters.start()
    yield clusters
    clusters.stop()


def grid_flow(name="grid_search", count=6, retries=1):
    return register_task_pipeline(
        name,
        {
            "grid": {"function": t.grid, "params": {"count": count}},
            "train": {
                "function": t.train_one,
                "depends_on": ["grid"],
                "map_over": "grid",
                "retries": retries,
                "params": {"fail_index": 2},
            },
            "best": {"function": t.pick_best, "depends_on": ["train"]},
        },
    )


def rows(run):
    return list(
        TaskRun.objects.filter(run=run)
        .order_by("id")
        .values_list("task_name", "map_index", "status", "attempt")
    )


def test_a_grid_search_maps_over_six_sets_retries_one_instance_alone_and_gathers_in_order(
    workers, marker_dir
):
    run = finished(launch_flow(grid_flow(), {"marker_dir": str(marker_dir)}))

    assert run.status == RunState.SUCCEEDED, workers.log()
    instances = [row for row in rows(run) if row[1] is not None]
    assert [(name, index) for name, index, _, _ in instances] == [(f"train[{i}]", i) for i in range(6)]
    assert {status for _, _, status, _ in instances} == {TaskState.SUCCEEDED}
    # Only instance 2 took a second attempt.
    assert [attempt for *_, attempt in instances] == [1, 1, 2, 1, 1, 1]
    outputs = [{"index": i, "score": i * 2} for i in range(6)]
    assert run.task_runs.get(task_name="best").output == {"received": outputs}
    assert run.task_runs.get(task_name="train").output == outputs
    assert run.succeeded_count == 3 + 6


def test_an_empty_list_succeeds_with_no_instances_and_its_downstream_runs(workers, marker_dir):
    run = finished(launch_flow(grid_flow("empty_grid", count=0), {"marker_dir": str(marker_dir)}))

    assert run.status == RunState.SUCCEEDED, workers.log()
    assert [row[:3] for row in rows(run)] == [
        ("grid", None, TaskState.SUCCEEDED),
        ("train", None, TaskState.SUCCEEDED),
        ("best", None, TaskState.SUCCEEDED),
    ]
    assert run.task_runs.get(task_name="best").output == {"received": []}


def test_over_the_cap_the_mapped_task_fails_giving_the_count(workers, marker_dir):
    # The cap is read by the worker that finished "grid" (the cluster's settings): its default, 1 000.
    flow = grid_flow("big_grid", count=1001)
    run = finished(launch_flow(flow, {"marker_dir": str(marker_dir)}))

    assert run.status == RunState.FAILED
    train = run.task_runs.get(task_name="train")
    assert train.status == TaskState.FAILED
    assert train.error == "'grid' gave 1001 items to map over, more than FLOWFORGE_MAX_MAP_INSTANCES (1000)"
    assert not TaskRun.objects.filter(run=run, map_index__isnull=False).exists()
    assert run.task_runs.get(task_name="best").status == TaskState.UPSTREAM_FAILED


def test_a_non_list_output_fails_the_mapped_task_with_a_clear_message(workers, marker_dir):
    run = finished(launch_flow(grid_flow("dict_grid", count="x"), {"marker_dir": str(marker_dir)}))

    train = run.task_runs.get(task_name="train")
    assert train.status == TaskState.FAILED
    assert train.error == "cannot map over the output of 'grid': a list was expected, not dict"


def test_a_failed_instance_fails_its_task_and_its_retry_runs_it_alone(workers, marker_dir):
    run = finished(launch_flow(grid_flow("no_retries", retries=0), {"marker_dir": str(marker_dir)}))

    assert run.status == RunState.FAILED, workers.log()
    train = run.task_runs.get(task_name="train")
    assert (train.status, train.error) == (TaskState.FAILED, "6 instances: 1 failed, 5 succeeded")
    assert run.task_runs.get(task_name="best").status == TaskState.UPSTREAM_FAILED
    failed = run.task_runs.get(task_name="train[2]")

    control.retry_task(failed)  # its second attempt succeeds
    run = finished(run)

    assert run.status == RunState.SUCCEEDED, workers.log()
    attempts = dict(
        TaskRun.objects.filter(run=run, map_index__isnull=False).values_list("map_index", "attempt")
    )
    assert attempts == {0: 1, 1: 1, 2: 2, 3: 1, 4: 1, 5: 1}
    assert len(run.task_runs.get(task_name="best").output["received"]) == 6


def test_clearing_one_instance_runs_it_again_and_what_follows(workers, marker_dir):
    run = finished(launch_flow(grid_flow(), {"marker_dir": str(marker_dir)}))
    assert run.status == RunState.SUCCEEDED, workers.log()

    control.clear_tasks(run, ["train[4]"])
    run = finished(run)

    assert run.status == RunState.SUCCEEDED, workers.log()
    attempts = dict(
        TaskRun.objects.filter(run=run, map_index__isnull=False).values_list("map_index", "attempt")
    )
    assert attempts == {0: 1, 1: 1, 2: 2, 3: 1, 4: 2, 5: 1}
    assert run.task_runs.get(task_name="best").attempt == 2
