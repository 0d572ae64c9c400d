"""Schedules in the admin: Editors define them, Operators pause, resume and run them now."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import Schedule

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.engine.schedule_fire import fire
from flowforge_admin.models import FlowRun, FlowSchedule

from .. import engine_tasks as t
from ..conftest import schedule_form_data, sized_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return sized_flow("nightly")


@pytest.fixture
def schedule(flow):
    return FlowSchedule.objects.create(flow=flow, name="at two", kind="daily", params={"size": 4})


def url(name, *args):
    return reverse(f"admin:flowforge_admin_flowschedule_{name}", args=args)


def client_of(role_user, group):
    client = Client()
    client.force_login(role_user(group))
    return client


def test_editor_adds_a_schedule_and_sees_its_words_and_next_fire_times(editor_client, flow):
    response = editor_client.post(
        url("add"), schedule_form_data(flow, name="weekdays", kind="cron", cron="0 2 * * 1-5")
    )
    assert response.status_code == 302
    schedule = FlowSchedule.objects.get()
    page = editor_client.get(url("change", schedule.pk)).text
    assert "At 02:00, Monday through Friday (UTC)" in page
    assert page.count("<li>") >= 5
    assert "class='ff-fire-times'" in page
    assert LogEntry.objects.filter(object_id=str(schedule.pk), action_flag=1).exists()


def test_an_invalid_cron_is_a_form_error_not_a_crash(editor_client, flow):
    response = editor_client.post(url("add"), schedule_form_data(flow, kind="cron", cron="99 * * * *"))
    assert response.status_code == 200
    assert "is not a valid cron expression" in response.text
    assert not FlowSchedule.objects.exists()
    assert not Schedule.objects.filter(name__startswith="flowforge schedule").exists()


def test_add_page_opened_from_a_flow_preselects_it(editor_client, flow):
    form = editor_client.get(url("add") + f"?flow={flow.pk}").context["adminform"].form
    assert str(form["flow"].value()) == str(flow.pk)


def test_operator_pauses_and_resumes_but_cannot_edit(role_user, schedule):
    operator = client_of(role_user, "Operator")
    assert (
        operator.post(
            url("change", schedule.pk), schedule_form_data(schedule.flow, name="renamed")
        ).status_code
        == 403
    )
    assert operator.post(url("pause", schedule.pk)).status_code == 302
    schedule.refresh_from_db()
    assert schedule.is_paused
    assert Schedule.objects.get(pk=schedule.q_schedule_id).repeats == 0
    operator.post(url("resume", schedule.pk))
    schedule.refresh_from_db()
    assert not schedule.is_paused
    assert list(
        LogEntry.objects.filter(object_id=str(schedule.pk))
        .order_by("pk")
        .values_list("change_message", flat=True)
    ) == ["Paused.", "Resumed."]


def test_pause_and_resume_as_list_actions(role_user, schedule):
    operator = client_of(role_user, "Operator")
    data = {"action": "pause_selected", "_selected_action": [schedule.pk]}
    operator.post(url("changelist"), data)
    schedule.refresh_from_db()
    assert schedule.is_paused


def test_stakeholder_cannot_pause_or_run_now(role_user, schedule):
    stakeholder = client_of(role_user, "Stakeholder")
    for name in ("pause", "resume", "run_now"):
        assert stakeholder.post(url(name, schedule.pk)).status_code == 403
    schedule.refresh_from_db()
    assert not schedule.is_paused
    assert not FlowRun.objects.exists()
    page = stakeholder.get(url("change", schedule.pk)).text
    assert url("pause", schedule.pk) not in page
    assert url("run_now", schedule.pk) not in page


def test_get_never_pauses(role_user, schedule):
    assert client_of(role_user, "Operator").get(url("pause", schedule.pk)).status_code == 405
    schedule.refresh_from_db()
    assert not schedule.is_paused


def test_run_now_launches_with_the_schedules_parameters(role_user, schedule):
    response = client_of(role_user, "Operator").post(url("run_now", schedule.pk))
    run = FlowRun.objects.get()
    assert response.url == reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])
    assert (run.triggered_by, run.schedule_id, run.params) == ("schedule", schedule.pk, {"size": 4})
    schedule.refresh_from_db()
    assert schedule.last_run_id == run.pk


def test_run_now_of_a_paused_flow_says_why(role_user, flow, schedule):
    flow.is_paused = True
    flow.save()
    response = client_of(role_user, "Operator").post(url("run_now", schedule.pk), follow=True)
    assert "is paused" in response.text
    assert not FlowRun.objects.exists()


def test_flow_page_lists_its_schedules_and_the_flow_list_their_next_fire(admin_client, flow, schedule):
    page = admin_client.get(reverse("admin:flowforge_admin_flow_change", args=[flow.pk])).text
    assert "every day at 00:00 UTC" in page
    assert url("change", schedule.pk) in page
    next_run = Schedule.objects.get(pk=schedule.q_schedule_id).next_run
    listing = admin_client.get(reverse("admin:flowforge_admin_flow_changelist")).text
    # Date and time may wrap apart in a narrow column, the date never at its hyphens.
    assert (
        next_run.strftime('<span class="ff-unbroken">%Y-%m-%d</span> <span class="ff-unbroken">%H:%M</span>')
        in listing
    )


def test_flow_list_next_fire_costs_no_query_per_flow(admin_client):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            admin_client.get(reverse("admin:flowforge_admin_flow_changelist"))
        return len(captured)

    for i in range(3):
        flow = register_task_pipeline(f"f{i}", {"ok": {"function": t.echo}})
        FlowSchedule.objects.create(flow=flow, name="s", kind="hourly")
    few = queries()
    for i in range(3, 20):
        flow = register_task_pipeline(f"f{i}", {"ok": {"function": t.echo}})
        FlowSchedule.objects.create(flow=flow, name="s", kind="hourly")
    assert queries() == few


def test_schedule_list_costs_no_query_per_schedule(admin_client, flow):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url("changelist")).status_code == 200
        return len(captured)

    for i in range(3):
        FlowSchedule.objects.create(flow=flow, name=f"s{i}", kind="hourly")
    few = queries()
    for i in range(3, 20):
        FlowSchedule.objects.create(flow=flow, name=f"s{i}", kind="hourly")
    assert queries() == few


def test_run_list_names_the_schedule_that_launched_a_run(admin_client, schedule):
    fire(schedule.pk)
    listing = admin_client.get(reverse("admin:flowforge_admin_flowrun_changelist")).text
    assert f'schedule: <a href="{url("change", schedule.pk)}">at two</a>' in listing
