"""The demo model release: a sensor, a grid search mapped over its settings, and an approval before deploy.

Run by the engine's own functions in this process, message by message, as a
worker takes them (each feature on real workers is tested under tests/engine).
"""

import sys
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django_q.models import OrmQ

from flowforge_admin.actions.approvals import DecideApprovalAction
from flowforge_admin.api import launch_flow
from flowforge_admin.engine import dispatch
from flowforge_admin.engine.worker import execute_task
from flowforge_admin.states import RunState, TaskState

pytestmark = pytest.mark.django_db

FLOW = "demo_model_release"


def work_off(capture):
    """Take and run every worker message there is, as a worker would, until none is left; return how many."""
    done = 0
    while True:
        messages = [m for m in OrmQ.objects.order_by("id") if m.task["func"] == dispatch.WORKER_ENTRY]
        if not messages:
            return done
        for message in messages:
            message.delete()
            with capture(execute=True):
                execute_task(*message.task["args"])
            done += 1


@pytest.fixture
def launch(monkeypatch, django_capture_on_commit_callbacks):
    """Register the demo flows as ``sync_flows`` does; return a launcher of the release flow."""
    monkeypatch.delitem(sys.modules, "flowforge_admin.demo.flows", raising=False)
    call_command("sync_flows", stdout=StringIO())

    def launch_release(ready_after):
        with django_capture_on_commit_callbacks(execute=True):
            return launch_flow(FLOW, {"ready_after": ready_after})

    return launch_release


def test_the_release_waits_for_its_reviewer_then_deploys_the_best_candidate(
    launch, django_capture_on_commit_callbacks
):
    release = launch(ready_after=0)
    work_off(django_capture_on_commit_callbacks)
    tasks = dict(release.task_runs.values_list("task_name", "status"))
    # Eight candidates, one per setting of the grid, each trained by its own instance.
    instances = {name: status for name, status in tasks.items() if name.startswith("train_candidate[")}
    assert len(instances) == 8
    assert set(instances.values()) == {TaskState.SUCCEEDED}
    assert tasks["approve_release"] == TaskState.WAITING
    assert tasks["deploy"] == TaskState.PENDING
    best = release.task_runs.get(task_name="pick_best").output
    assert best["candidates"] == 8
    rmses = [release.task_runs.get(task_name=name).output["rmse"] for name in instances]
    assert best["best"]["rmse"] == min(rmses)

    review = release.task_runs.get(task_name="approve_release")
    boss = User.objects.create_superuser("boss", password="x")
    with django_capture_on_commit_callbacks(execute=True):
        DecideApprovalAction(review, approve=True, data={"stage": "production"}, user=boss).execute()
    work_off(django_capture_on_commit_callbacks)

    release.refresh_from_db()
    assert release.status == RunState.SUCCEEDED
    deploy = release.task_runs.get(task_name="deploy").output
    assert deploy == {"deployed": best["best"], "stage": "production"}


def test_its_sensor_waits_until_the_data_has_landed(launch, django_capture_on_commit_callbacks):
    release = launch(ready_after=3600)
    sensor = release.task_runs.get(task_name="wait_for_partition")
    work_off(django_capture_on_commit_callbacks)
    sensor.refresh_from_db()
    assert (sensor.status, sensor.checks) == (TaskState.WAITING, 1)
    assert release.task_runs.get(task_name="train_candidate").status == TaskState.PENDING
