"""Approval steps in the admin: the decision page, "Waiting for me" and its count, the run page's link.

Only a step's approvers see its decision page and decide (403 for anyone
else, GET and POST); a decision is recorded in the admin log, the run's
history and the task's log.
"""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django_q.models import OrmQ

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import TaskLog
from flowforge_admin.states import TaskState

from .. import engine_tasks as t
from ..engine.conftest import deliver

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {
        "threshold": {"type": "number", "minimum": 0, "maximum": 1, "title": "Threshold"},
        "stage": {"enum": ["staging", "production"]},
    },
    "required": ["threshold"],
}


@pytest.fixture
def review(django_capture_on_commit_callbacks):
    """A waiting approval step "review" of group "Model reviewers", after "train", before "deploy"."""
    flow = register_task_pipeline(
        "reviewed",
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
    OrmQ.objects.all().delete()
    return run.task_runs.get(task_name="review")


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reviewer(role_user):
    """A Stakeholder who is also in the step's group."""
    user = role_user("Stakeholder")
    user.groups.add(Group.objects.get_or_create(name="Model reviewers")[0])
    return user


def decision_url(task_run):
    return reverse("admin:flowforge_admin_approval_decide", args=[task_run.pk])


def test_the_decision_page_shows_the_steps_form_to_its_approvers_only(review, reviewer, role_user):
    response = login(reviewer).get(decision_url(review))
    assert response.status_code == 200
    form = response.context["form"]
    # PostgreSQL's jsonb keeps an object's keys in its own order, not the author's.
    assert sorted(form.fields) == ["approval-comment", "stage", "threshold"]
    assert list(form.fields)[-1] == "approval-comment"
    assert form.fields["threshold"].label == "Threshold"
    text = response.content.decode()
    assert "waits for your decision" in text
    assert "Model reviewers" in text
    assert [row.name for row in response.context["upstream_rows"]] == ["train"]
    for other in (role_user("Operator"), role_user("Editor")):
        client = login(other)
        assert client.get(decision_url(review)).status_code == 403
        assert (
            client.post(decision_url(review), {"decision": "approve", "threshold": "0.5"}).status_code == 403
        )
    review.refresh_from_db()
    assert review.status == TaskState.WAITING


def test_approving_records_who_and_the_data_and_the_run_goes_on(
    review, reviewer, django_capture_on_commit_callbacks
):
    client = login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            decision_url(review),
            {
                "decision": "approve",
                "threshold": "0.75",
                "stage": "production",
                "approval-comment": "ship it",
            },
        )
    assert response.status_code == 302
    assert response.url == reverse("admin:flowforge_admin_flowrun_change", args=[review.run_id])
    review.refresh_from_db()
    assert (review.status, review.output) == (TaskState.SUCCEEDED, {"threshold": 0.75, "stage": "production"})
    assert TaskLog.objects.filter(task_run=review).last().message == "approved by stakeholder: ship it"
    assert LogEntry.objects.get(user=reviewer).change_message == (
        f"Approved task review of run #{review.run_id}: ship it"
    )
    assert review.run.task_runs.get(task_name="deploy").status == TaskState.QUEUED
    # Decided: the page now sends back to the run.
    assert client.get(decision_url(review)).status_code == 302


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"decision": "approve"}, "threshold", "This field is required."),
        ({"decision": "approve", "threshold": "3"}, "threshold", "3.0 is greater than the maximum of 1"),
        ({"decision": "reject", "threshold": ""}, "approval-comment", "Say why you reject it"),
        ({"threshold": "0.5"}, None, "Choose Approve or Reject."),
    ],
    ids=["required", "maximum", "reject without comment", "no decision"],
)
def test_a_bad_decision_is_shown_at_its_field_and_changes_nothing(review, reviewer, data, field, message):
    response = login(reviewer).post(decision_url(review), data)
    assert response.status_code == 200
    errors = response.context["form"].errors.get(field or "__all__")
    assert errors
    assert message in errors[0]
    review.refresh_from_db()
    assert review.status == TaskState.WAITING


def test_rejecting_fails_the_step_with_the_comment(review, reviewer):
    response = login(reviewer).post(decision_url(review), {"decision": "reject", "approval-comment": "drift"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.error) == (TaskState.FAILED, "rejected by stakeholder: drift")


def test_waiting_for_me_lists_what_the_user_decides_and_the_index_counts_it(
    review, reviewer, role_user, django_assert_max_num_queries
):
    url = reverse("admin:flowforge_admin_approval_changelist")
    client = login(reviewer)
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [review.pk]
    assert decision_url(review) in response.content.decode()
    for page in (reverse("admin:index"), reverse("admin:app_list", args=["flowforge_admin"])):
        assert "1 approval step is waiting for you" in client.get(page).content.decode()
    operator = login(role_user("Operator"))
    response = operator.get(url)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert "waiting for you" not in operator.get(reverse("admin:index")).content.decode()


def test_the_waiting_list_costs_the_same_queries_for_many_steps(
    review, reviewer, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = login(reviewer)
    url = reverse("admin:flowforge_admin_approval_changelist")
    client.get(url)  # warm the caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            run = launch_flow("reviewed")
        deliver(django_capture_on_commit_callbacks, run.task_runs.get(task_name="train").pk, 1)
    with CaptureQueriesContext(connection) as six:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 6
    assert len(six) == len(one)


def test_the_run_page_links_the_decision_for_approvers_and_says_who_decides(review, reviewer, role_user):
    run_url = reverse("admin:flowforge_admin_flowrun_change", args=[review.run_id])
    page = login(reviewer).get(run_url).content.decode()
    assert decision_url(review) in page
    assert "waiting for approval by Model reviewers" in page
    other = login(role_user("Operator")).get(run_url).content.decode()
    assert decision_url(review) not in other
    assert "waiting for approval by Model reviewers" in other
    assert "Mark…" not in other.split('id="task-review"')[1].split("</tr>")[0]


def test_a_superuser_decides_any_step(review):
    boss = User.objects.create_superuser("boss", password="x")
    response = login(boss).post(decision_url(review), {"decision": "approve", "threshold": "0.1"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == TaskState.SUCCEEDED
