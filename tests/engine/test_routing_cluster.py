"""A routed task runs on real workers of its own cluster only (``qcluster`` with ``Q_CLUSTER_NAME``).

Part of the scale-out pass too (tests/test_scale_out.py: PostgreSQL + Redis).
"""

import pytest

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.health import queue_depths
from flowforge_admin.queues import default_queue
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .cluster import Cluster, wait_for
from .conftest import outputs, task_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_routed_task_runs_only_on_its_cluster(cluster, tmp_path):
    # Named after the project's cluster: test runs sharing one Redis keep their queues apart.
    gpu = f"{default_queue()}-gpu"
    flow = register_task_pipeline(
        "routed_on_workers",
        {
            "plain": {"function": t.cluster_name},
            "train": {"function": t.cluster_name, "queue": gpu},
            "report": {"function": t.cluster_name, "depends_on": ["train"]},
        },
    )
    gpu_cluster = Cluster(tmp_path / "qcluster-gpu.log", Q_CLUSTER_NAME=gpu)
    try:
        run = launch_flow(flow)
        wait_for(
            lambda: task_run(run, "plain").status == TaskState.SUCCEEDED, message="plain to run", timeout=60
        )
        # The project's cluster ran plain and left train's message in the gpu queue.
        assert task_run(run, "train").status == TaskState.QUEUED
        assert queue_depths([gpu]) == {gpu: 1}

        gpu_cluster.start()
        wait_for(lambda: run.refresh_from_db() or run.is_finished, message="the run to finish", timeout=60)
    finally:
        gpu_cluster.stop()

    assert run.status == RunState.SUCCEEDED, cluster.log() + gpu_cluster.log()
    # train ran on the gpu cluster; report, queued by the gpu worker, on the project's cluster.
    assert outputs(run) == {"plain": default_queue(), "train": gpu, "report": default_queue()}
    message = f"flowforge-{task_run(run, 'train').pk}-1"
    assert gpu_cluster.processed(message)
    assert not any(member.processed(message) for member in cluster.members)


def test_a_big_launch_is_started_by_a_worker(cluster, settings):
    """Over FLOWFORGE_LAUNCH_INLINE_TASKS the launch only writes the run: a worker of the project's cluster starts it."""
    settings.FLOWFORGE_LAUNCH_INLINE_TASKS = 2
    flow = register_task_pipeline(
        "big_launch_on_workers",
        {
            "a": {"function": t.cluster_name},
            "b": {"function": t.cluster_name},
            "c": {"function": t.cluster_name, "depends_on": ["a", "b"]},
        },
    )
    run = launch_flow(flow)
    wait_for(lambda: run.refresh_from_db() or run.is_finished, message="the run to finish", timeout=60)
    assert run.status == RunState.SUCCEEDED, cluster.log()
    assert outputs(run) == dict.fromkeys("abc", default_queue())
