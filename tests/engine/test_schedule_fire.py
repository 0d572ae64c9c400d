"""Schedules fired by Django-Q2's own scheduler, and what the engine does with a fire."""

import datetime

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine.schedule_fire import fire
from flowforge_admin.models import FlowRun, FlowSchedule
from flowforge_admin.q_schedules import FIRE_FUNC

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return register_task_pipeline(
        "scheduled",
        {"first": {"function": t.echo}, "second": {"function": t.echo, "depends_on": ["first"]}},
        params={"size": 1},
    )


@pytest.fixture
def schedule(flow):
    return FlowSchedule.objects.create(
        flow=flow, name="often", kind=FlowSchedule.Kind.MINUTES, every_minutes=5, params={"size": 7}
    )


@pytest.fixture
def run_scheduler(monkeypatch):
    """Django-Q2's scheduler pass, as a cluster runs it every 30 s.

    It starts by closing stale connections, which would close the test's
    own transaction; that part (and only it) is left out here.
    """
    monkeypatch.setattr("django_q.scheduler.close_old_django_connections", lambda: None)
    return lambda: scheduler(broker=get_broker())


def make_due(schedule, ago=datetime.timedelta(seconds=1)):
    Schedule.objects.filter(pk=schedule.q_schedule_id).update(next_run=timezone.now() - ago)


def work_off(capture):
    """Do what a worker does with every waiting message, until none is left; return their functions."""
    done = []
    while (message := OrmQ.objects.order_by("id").first()) is not None:
        message.delete()
        task = message.task
        func = task["func"] if callable(task["func"]) else import_string(task["func"])
        with capture(execute=True):
            func(*task["args"], **{k: v for k, v in task["kwargs"].items() if k != "q_options"})
        done.append(task["func"] if isinstance(task["func"], str) else task["func"].__name__)
    return done


def test_a_due_schedule_fired_by_django_q2_launches_a_run_that_finishes(
    schedule, run_scheduler, django_capture_on_commit_callbacks
):
    make_due(schedule)
    run_scheduler()
    done = work_off(django_capture_on_commit_callbacks)
    assert done.count(FIRE_FUNC) == 1
    run = FlowRun.objects.get()
    assert (run.status, run.triggered_by, run.schedule_id) == ("succeeded", "schedule", schedule.pk)
    assert run.params == {"size": 7}
    assert run.task_runs.get(task_name="second").output["context_params"]["size"] == 7
    schedule.refresh_from_db()
    assert (schedule.last_outcome, schedule.last_run_id) == ("launched", run.pk)
    # The scheduler moved the next fire into the future: no second run now.
    assert Schedule.objects.get(pk=schedule.q_schedule_id).next_run > timezone.now()
    run_scheduler()
    assert FIRE_FUNC not in work_off(django_capture_on_commit_callbacks)


def test_missed_fires_make_at_most_one_catch_up_run(
    schedule, run_scheduler, django_capture_on_commit_callbacks
):
    """A day without a cluster: 288 fires of a 5-minute schedule were missed; one run follows."""
    make_due(schedule, ago=datetime.timedelta(days=1))
    run_scheduler()
    run_scheduler()
    work_off(django_capture_on_commit_callbacks)
    run = FlowRun.objects.get()
    # For the latest fire due (the scheduler moved the row on to the first one to come).
    next_run = Schedule.objects.get(pk=schedule.q_schedule_id).next_run
    assert run.logical_date == next_run - datetime.timedelta(minutes=5)


def test_with_catchup_missed_fires_each_get_a_run_through_django_q2(
    schedule, run_scheduler, django_capture_on_commit_callbacks
):
    """An hour without a cluster, catch-up on: one delivered fire, a run for each of the 12 missed fires."""
    FlowSchedule.objects.filter(pk=schedule.pk).update(catchup=True, overlap=FlowSchedule.Overlap.ALLOW)
    make_due(schedule, ago=datetime.timedelta(minutes=57))
    run_scheduler()
    run_scheduler()
    assert work_off(django_capture_on_commit_callbacks).count(FIRE_FUNC) == 1
    dates = list(FlowRun.objects.order_by("pk").values_list("logical_date", flat=True))
    next_run = Schedule.objects.get(pk=schedule.q_schedule_id).next_run
    assert dates == [next_run - datetime.timedelta(minutes=5 * n) for n in range(12, 0, -1)]


def test_a_fire_while_a_run_goes_on_is_skipped_and_recorded(flow, schedule):
    running = launch_flow(flow)
    assert fire(schedule.pk) is None
    schedule.refresh_from_db()
    assert schedule.last_outcome == "skipped"
    assert schedule.last_message == f"skipped: run #{running.pk} of this flow is still queued"
    assert schedule.skipped_count == 1
    assert FlowRun.objects.count() == 1


def test_overlap_allowed_launches_beside_a_running_run(flow, schedule):
    launch_flow(flow)
    schedule.overlap = FlowSchedule.Overlap.ALLOW
    schedule.save()
    run = fire(schedule.pk)
    assert run is not None
    assert FlowRun.objects.count() == 2


def test_a_paused_schedule_or_flow_does_not_launch(flow, schedule):
    schedule.is_paused = True
    schedule.save()
    assert fire(schedule.pk) is None
    schedule.is_paused = False
    schedule.save()
    flow.is_paused = True
    flow.save()
    assert fire(schedule.pk) is None
    assert not FlowRun.objects.exists()
    schedule.refresh_from_db()
    assert schedule.last_message == "skipped: the schedule or its flow is paused"


def test_paused_schedules_are_not_picked_by_the_scheduler(schedule, run_scheduler):
    schedule.is_paused = True
    schedule.save()
    make_due(schedule)
    run_scheduler()
    assert [m.task["func"] for m in OrmQ.objects.all()].count(FIRE_FUNC) == 0


def test_parameters_that_no_longer_suit_the_flow_are_recorded_not_raised(flow, schedule):
    flow.params_schema = {"type": "object", "properties": {"size": {"type": "integer", "maximum": 5}}}
    flow.save()
    assert fire(schedule.pk) is None
    schedule.refresh_from_db()
    assert schedule.last_outcome == "failed"
    assert "params.size: 7 is greater than the maximum of 5" in schedule.last_message
    assert not FlowRun.objects.exists()


def test_a_fire_for_a_deleted_schedule_does_nothing(schedule):
    schedule_id = schedule.pk
    schedule.delete()
    assert fire(schedule_id) is None
    assert not FlowRun.objects.exists()
