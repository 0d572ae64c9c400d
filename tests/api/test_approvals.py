"""Approving and rejecting over the API: only a step's approvers, with the admin's checks and records."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.states import TaskState

from .. import engine_tasks as t
from ..engine.conftest import deliver
from .conftest import url

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {"threshold": {"type": "number", "maximum": 1}},
    "required": ["threshold"],
}


@pytest.fixture
def review(django_capture_on_commit_callbacks):
    flow = register_task_pipeline(
        "api_reviewed",
        {
            "train": {"function": t.echo},
            "review": {
                "depends_on": ["train"],
                "approval": {"group": "Model reviewers", "params_schema": SCHEMA},
            },
            "deploy": {"function": t.echo, "depends_on": ["review"]},
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow)
    deliver(django_capture_on_commit_callbacks, run.task_runs.get(task_name="train").pk, 1)
    return run.task_runs.get(task_name="review")


@pytest.fixture
def reviewer_api(as_role):
    client = as_role("Stakeholder")
    client.token.user.groups.add(Group.objects.get_or_create(name="Model reviewers")[0])
    return client


def test_an_approver_approves_with_data_and_the_run_goes_on(review, reviewer_api):
    response = reviewer_api.post(
        url("api-task-approve", review.run_id, "review"),
        {"comment": "fine", "data": {"threshold": 0.9}},
        format="json",
    )
    assert response.status_code == 200, response.content
    review.refresh_from_db()
    assert (review.status, review.output) == (TaskState.SUCCEEDED, {"threshold": 0.9})
    assert response.json()["status"] == "running"
    assert LogEntry.objects.get(user=reviewer_api.token.user).change_message.startswith(
        "Approved task review"
    )
    detail = reviewer_api.get(url("api-task-detail", review.run_id, "review")).json()
    assert detail["approval_group"] == "Model reviewers"


@pytest.mark.parametrize("role", ["Stakeholder", "Operator", "Editor", "nobody"])
def test_anyone_else_is_refused_403_and_nothing_changes(review, as_role, role):
    client = as_role(role)
    for action, body in (("approve", {"data": {"threshold": 0.5}}), ("reject", {"comment": "no"})):
        response = client.post(url(f"api-task-{action}", review.run_id, "review"), body, format="json")
        assert response.status_code == 403, response.content
    review.refresh_from_db()
    assert review.status == TaskState.WAITING


@pytest.mark.parametrize(
    ("action", "body", "status", "words"),
    [
        ("approve", {"data": {"threshold": 5}}, 400, "5 is greater than the maximum of 1"),
        ("approve", {"data": "yes"}, 400, "Expected a dictionary"),
        ("approve", {}, 400, "'threshold' is a required property"),
        ("reject", {}, 400, "This field is required."),
        ("reject", {"comment": "   "}, 400, "This field may not be blank."),
    ],
)
def test_a_bad_body_is_a_400_naming_what_is_wrong(review, reviewer_api, action, body, status, words):
    response = reviewer_api.post(url(f"api-task-{action}", review.run_id, "review"), body, format="json")
    assert response.status_code == status
    assert words in response.content.decode()
    review.refresh_from_db()
    assert review.status == TaskState.WAITING


def test_rejecting_and_deciding_twice(review, reviewer_api):
    path = url("api-task-reject", review.run_id, "review")
    assert reviewer_api.post(path, {"comment": "drift"}, format="json").status_code == 200
    review.refresh_from_db()
    assert (review.status, review.error) == (TaskState.FAILED, "rejected by stakeholder: drift")
    again = reviewer_api.post(
        url("api-task-approve", review.run_id, "review"), {"data": {"threshold": 0.1}}, format="json"
    )
    assert again.status_code == 409
    assert "only an approval step that is waiting" in again.json()["detail"]
    # A task that is no approval step at all.
    other = reviewer_api.post(url("api-task-approve", review.run_id, "train"), {}, format="json")
    assert other.status_code == 409
