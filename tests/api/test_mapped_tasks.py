"""The REST API addresses a mapped task's instance by its name, ``runs/{id}/tasks/train[3]/``."""

import pytest

from flowforge_admin.api import run_flow
from flowforge_admin.engine import control
from flowforge_admin.states import RunState, TaskState
from tests.admin.test_mapped_runs import grid_flow

from .conftest import url

pytestmark = pytest.mark.django_db


def test_the_api_addresses_an_instance_by_its_name_and_retries_it(operator_api, tmp_path):
    run = run_flow(grid_flow(fail_index=3), {"marker_dir": str(tmp_path)})
    assert run.status == RunState.FAILED

    detail = operator_api.get(url("api-task-detail", run.pk, "train[3]"))
    assert detail.status_code == 200
    assert (detail.json()["map_index"], detail.json()["status"]) == (3, TaskState.FAILED)
    assert operator_api.get(url("api-task-detail", run.pk, "train[9]")).status_code == 404

    assert operator_api.post(url("api-task-retry", run.pk, "train[3]")).status_code == 200

    statuses = dict(run.task_runs.values_list("task_name", "status"))
    assert (statuses["train[3]"], statuses["train"], statuses["best"]) == (
        TaskState.QUEUED,
        TaskState.RUNNING,
        TaskState.PENDING,
    )
    assert {statuses[f"train[{i}]"] for i in (0, 1, 2, 4, 5)} == {TaskState.SUCCEEDED}
    run.refresh_from_db()
    assert run.status == RunState.RUNNING
    # Cancelling the run cancels its queued instance too.
    control.cancel(run)
    assert run.task_runs.get(task_name="train[3]").status == TaskState.CANCELLED


def test_the_run_lists_its_tasks_and_the_task_list_every_instance_with_its_map_index(operator_api, tmp_path):
    run = run_flow(grid_flow(count=3), {"marker_dir": str(tmp_path)})

    detail = operator_api.get(url("api-run-detail", run.pk)).json()
    assert [task["task"] for task in detail["tasks"]] == ["grid", "train", "best"]
    listed = operator_api.get(url("api-task-list", run.pk)).json()["results"]
    assert [(task["task"], task["map_index"]) for task in listed] == [
        ("grid", None),
        ("train", None),
        ("best", None),  # in the order they were made: instances when their task started
        ("train[0]", 0),
        ("train[1]", 1),
        ("train[2]", 2),
    ]
