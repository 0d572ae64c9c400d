"""The run page's buttons: each a POST behind its permission, each recorded in the admin log."""

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.models import FlowRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return register_task_pipeline(
        "controlled",
        {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}},
        params={"size": 3},
    )


def url(name, *args):
    return reverse(f"admin:flowforge_admin_flowrun_{name}", args=args)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def history_of(obj):
    return list(
        LogEntry.objects.filter(object_id=str(obj.pk), content_type__model=obj._meta.model_name).values_list(
            "change_message", flat=True
        )
    )


def test_operator_cancels_a_queued_run_and_it_is_recorded(operator_client, flow):
    run = launch_flow(flow)
    response = operator_client.post(url("cancel", run.pk))
    assert response.status_code == 302
    assert response.url == url("change", run.pk)
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert history_of(run) == [f"Cancelled run #{run.pk}."]
    entry = LogEntry.objects.get(object_id=str(run.pk))
    assert entry.user.username == "operator"


def test_cancelling_a_finished_run_says_why_and_changes_nothing(operator_client, flow):
    run = run_flow(flow)
    response = operator_client.post(url("cancel", run.pk), follow=True)
    assert response.status_code == 200
    assert any("only queued or running runs can be cancelled" in m for m in messages_of(response))
    run.refresh_from_db()
    assert run.status == "failed"
    assert history_of(run) == []


def test_rerun_failed_reopens_the_failed_tasks(operator_client, flow):
    run = run_flow(flow)
    operator_client.post(url("rerun", run.pk))
    run.refresh_from_db()
    assert run.status == "running"
    assert run.task_runs.get(task_name="bad").status == "queued"
    assert run.task_runs.get(task_name="ok").status == "succeeded"
    assert history_of(run) == [f"Re-running the failed and cancelled tasks of run #{run.pk}."]


def test_retry_one_task(operator_client, flow):
    run = run_flow(flow)
    bad = run.task_runs.get(task_name="bad")
    operator_client.post(url("retry", run.pk, bad.pk))
    bad.refresh_from_db()
    assert bad.status == "queued"
    assert history_of(run) == [f"Retrying task bad of run #{run.pk}."]


def test_mark_a_task_succeeded_with_a_reason(operator_client, flow):
    run = run_flow(flow)
    bad = run.task_runs.get(task_name="bad")
    operator_client.post(url("mark", run.pk, bad.pk), {"status": "succeeded", "reason": "fixed by hand"})
    bad.refresh_from_db()
    run.refresh_from_db()
    assert bad.status == "succeeded"
    assert run.status == "succeeded"
    assert bad.logs.filter(message="marked succeeded: fixed by hand").exists()
    assert history_of(run) == [f"Marked task bad of run #{run.pk} succeeded: fixed by hand"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "succeeded", "reason": "  "}, "a reason is required"),
        ({"status": "running", "reason": "why"}, "Choose whether to mark the task succeeded or failed"),
        ({"status": "failed", "reason": "already"}, "already failed"),
    ],
)
def test_a_bad_mark_says_what_is_wrong_and_changes_nothing(operator_client, flow, data, message):
    run = run_flow(flow)
    bad = run.task_runs.get(task_name="bad")
    response = operator_client.post(url("mark", run.pk, bad.pk), data, follow=True)
    assert any(message in m for m in messages_of(response))
    bad.refresh_from_db()
    assert bad.status == "failed"
    assert history_of(run) == []


def test_launch_again_uses_the_same_parameters_and_records_who(operator_client, flow):
    first = launch_flow(flow, {"size": 7})
    response = operator_client.post(url("relaunch", first.pk))
    second = FlowRun.objects.exclude(pk=first.pk).get()
    assert response.url == url("change", second.pk)
    assert second.params == {"size": 7}
    assert second.triggered_by == "user"
    assert second.triggered_by_user.username == "operator"
    entry = LogEntry.objects.get(object_id=str(second.pk), content_type__model="flowrun")
    assert entry.action_flag == ADDITION
    assert f"from run #{first.pk}" in entry.change_message
    assert any(f"run #{second.pk}" in m for m in history_of(flow))


def test_launch_again_of_a_paused_flow_is_refused(operator_client, flow):
    run = run_flow(flow)
    flow.is_paused = True
    flow.save()
    response = operator_client.post(url("relaunch", run.pk), follow=True)
    assert any("is paused" in m for m in messages_of(response))
    assert FlowRun.objects.count() == 1


@pytest.mark.parametrize("name", ["cancel", "rerun", "relaunch"])
def test_get_never_changes_a_run(operator_client, flow, name):
    run = launch_flow(flow)
    assert operator_client.get(url(name, run.pk)).status_code == 405
    run.refresh_from_db()
    assert run.status == "queued"
    assert FlowRun.objects.count() == 1


@pytest.mark.parametrize("name", ["cancel", "rerun", "relaunch"])
def test_a_stakeholder_gets_403_and_changes_nothing(stakeholder_client, flow, name):
    run = launch_flow(flow)
    assert stakeholder_client.post(url(name, run.pk)).status_code == 403
    run.refresh_from_db()
    assert run.status == "queued"
    assert FlowRun.objects.count() == 1


def test_buttons_show_only_to_who_may_use_them(flow, role_user):
    stakeholder_client, operator_client = Client(), Client()
    stakeholder_client.force_login(role_user("Stakeholder"))
    operator_client.force_login(role_user("Operator"))
    run = run_flow(flow)
    seen = stakeholder_client.get(url("change", run.pk)).text
    assert url("rerun", run.pk) not in seen
    assert url("relaunch", run.pk) not in seen
    assert "Mark…" not in seen
    seen = operator_client.get(url("change", run.pk)).text
    assert url("rerun", run.pk) in seen
    assert url("relaunch", run.pk) in seen
    assert url("cancel", run.pk) not in seen  # finished: nothing to cancel
    bad = run.task_runs.get(task_name="bad")
    assert url("retry", run.pk, bad.pk) in seen


def test_the_csrf_check_applies(flow, role_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user("Operator"))
    run = launch_flow(flow)
    assert client.post(url("cancel", run.pk)).status_code == 403
    run.refresh_from_db()
    assert run.status == "queued"
