"""Schedule actions (pause, resume, launch now) and the run history of a schedule's own fire."""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django_q.models import Schedule

from flowforge_admin.actions.schedules import (
    LaunchScheduleNowAction,
    PauseScheduleAction,
    ResumeScheduleAction,
)
from flowforge_admin.engine.schedule_fire import fire
from flowforge_admin.models import FlowRun, FlowSchedule, RunEvent

from .conftest import events_of, log_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(flow):
    return FlowSchedule.objects.create(flow=flow, name="at two", kind="daily", params={"size": 4})


def test_a_schedules_fire_is_in_the_runs_history_with_no_user(schedule):
    run = fire(schedule.pk)
    assert (run.triggered_by, run.schedule_id) == (FlowRun.Trigger.SCHEDULE, schedule.pk)
    assert events_of(run) == [
        (None, "launch", 'Launched by schedule acted_on / at two with parameters {"size": 4}.')
    ]
    assert not LogEntry.objects.exists()


def test_a_skipped_fire_records_no_event(flow, schedule):
    flow.is_paused = True
    flow.save()
    assert fire(schedule.pk) is None
    assert not RunEvent.objects.exists()


def test_launch_now_by_a_user_is_recorded_as_the_admin_button_records_it(client, operator, schedule):
    client.force_login(operator)
    client.post(reverse("admin:flowforge_admin_flowschedule_run_now", args=[schedule.pk]))
    by_button = FlowRun.objects.get()
    by_code = LaunchScheduleNowAction(schedule, user=operator).execute()

    words = 'with parameters {"size": 4}.'
    for run in (by_button, by_code):
        assert (run.triggered_by, run.schedule_id) == (FlowRun.Trigger.SCHEDULE, schedule.pk)
        assert log_of(run) == [("operator", ADDITION, f"Launched now by schedule acted_on / at two {words}")]
        assert events_of(run) == [
            ("operator", "launch", f"Launched now by schedule acted_on / at two {words}")
        ]
    assert log_of(schedule.flow) == [
        ("operator", CHANGE, f"Launched run #{run.pk} {words}") for run in (by_button, by_code)
    ]


def test_launch_now_refused_by_the_engine_records_why_on_the_schedule_only(operator, flow, schedule):
    flow.is_paused = True
    flow.save()
    assert LaunchScheduleNowAction(schedule, user=operator).execute() is None
    schedule.refresh_from_db()
    assert (schedule.last_outcome, schedule.last_message) == (
        "failed",
        "flow 'acted_on' is paused: resume it before launching a run",
    )
    assert not FlowRun.objects.exists()
    assert not RunEvent.objects.exists()
    assert not LogEntry.objects.exists()


def test_launch_now_needs_launch_flow_and_a_refusal_changes_nothing(stakeholder, schedule):
    with pytest.raises(PermissionDenied, match="flowforge_admin.launch_flow is needed"):
        LaunchScheduleNowAction(schedule, user=stakeholder).execute()
    schedule.refresh_from_db()
    assert (schedule.last_fired_at, schedule.last_outcome) == (None, "")
    assert not FlowRun.objects.exists()
    assert not LogEntry.objects.exists()


def test_pause_and_resume_with_a_user_are_in_the_schedules_admin_log(operator, schedule):
    assert PauseScheduleAction(schedule, user=operator).execute() is True
    schedule.refresh_from_db()
    assert schedule.is_paused
    assert Schedule.objects.get(pk=schedule.q_schedule_id).repeats == 0
    assert ResumeScheduleAction(schedule, user=operator).execute() is True
    schedule.refresh_from_db()
    assert not schedule.is_paused
    assert log_of(schedule) == [("operator", CHANGE, "Paused."), ("operator", CHANGE, "Resumed.")]


def test_pausing_a_paused_schedule_changes_and_records_nothing(operator, schedule):
    PauseScheduleAction(schedule).execute()
    updated = FlowSchedule.objects.get(pk=schedule.pk).updated_at
    assert PauseScheduleAction(schedule, user=operator).execute() is False
    assert FlowSchedule.objects.get(pk=schedule.pk).updated_at == updated
    assert log_of(schedule) == []


def test_pause_without_a_user_is_not_in_the_admin_log(schedule):
    PauseScheduleAction(schedule).execute()
    schedule.refresh_from_db()
    assert schedule.is_paused
    assert not LogEntry.objects.exists()


def test_a_user_without_pause_schedule_changes_nothing(stakeholder, schedule):
    with pytest.raises(PermissionDenied, match="flowforge_admin.pause_schedule is needed"):
        PauseScheduleAction(schedule, user=stakeholder).execute()
    schedule.refresh_from_db()
    assert not schedule.is_paused
    assert Schedule.objects.get(pk=schedule.q_schedule_id).repeats != 0
    assert not LogEntry.objects.exists()
