"""The watchdog on a real cluster (one qcluster for the module): kill -9 one worker mid-task and the
worker Django-Q2 starts in its place hands the attempt on, long before the heartbeat could go stale
(``FLOWFORGE_LOST_AFTER_SECONDS`` is 600 here, so the lost-work check cannot be what did it)."""

import os
import signal

import pytest

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import TaskAttempt
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .cluster import Cluster, purge_queue, wait_for
from .conftest import side_effects
from .test_cluster import finished

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        purge_queue()
        cluster = Cluster(
            tmp_path_factory.mktemp("watchdog") / "qcluster.log",
            FLOWFORGE_LOST_AFTER_SECONDS="600",
            FLOWFORGE_REQUEUE_AFTER_SECONDS="600",
        )
        cluster.start()
    yield cluster
    cluster.stop()


def running_worker(run, name):
    """The pid of the worker process running task ``name`` of ``run`` (waits for its claim)."""

    def claimed():
        status, worker = run.task_runs.values_list("status", "worker").get(task_name=name)
        return worker if status == TaskState.RUNNING else None

    return int(wait_for(claimed, message=f"{name} to run").split(":")[1])


def kill_worker(workers, pid):
    assert pid != workers.process.pid, "that is the cluster's own process"
    os.kill(pid, signal.SIGKILL)


def test_a_worker_killed_mid_task_has_its_attempt_handed_on_and_the_side_effect_happens_once(
    workers, marker_dir
):
    flow = register_task_pipeline(
        "killed_worker",
        {
            "first": {"function": t.work},
            "hang": {"function": t.hang_first, "depends_on": ["first"]},
            "last": {"function": t.work, "depends_on": ["hang"]},
        },
    )
    run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    pid = running_worker(run, "hang")

    kill_worker(workers, pid)

    run = finished(run, timeout=120)
    assert run.status == RunState.SUCCEEDED, workers.log()
    assert side_effects(marker_dir) == ["first", "hang", "last"]
    hang = run.task_runs.get(task_name="hang")
    assert (hang.attempt, hang.lost_attempts) == (2, 1)
    assert hang.worker.split(":")[1] != str(pid)
    lost = TaskAttempt.objects.get(task_run=hang, attempt=1)
    assert lost.error == f"attempt 1 lost its worker (its worker process {pid} died)"
    assert "reincarnated worker" in workers.log()


def test_a_worker_killed_while_another_runs_a_task_leaves_that_task_alone(workers, marker_dir):
    """Two tasks on the two workers; one worker dies: only its attempt is handed on."""
    flow = register_task_pipeline(
        "one_of_two_killed",
        {
            "doomed": {"function": t.hang_first},
            "steady": {"function": t.work, "params": {"seconds": 3}},
        },
    )
    run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    pid = running_worker(run, "doomed")
    running_worker(run, "steady")

    kill_worker(workers, pid)

    run = finished(run, timeout=120)
    assert run.status == RunState.SUCCEEDED, workers.log()
    assert sorted(side_effects(marker_dir)) == ["doomed", "steady"]
    attempts = dict(run.task_runs.values_list("task_name", "attempt"))
    assert attempts == {"doomed": 2, "steady": 1}
