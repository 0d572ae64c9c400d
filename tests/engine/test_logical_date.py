"""A run's logical date: the launch moment unless given, a schedule's fire time, seen by its tasks."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_q.models import Schedule

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.engine.schedule_fire import fire
from flowforge_admin.models import FlowRun, FlowSchedule
from flowforge_admin.q_schedules import FIRE_FUNC, INTENDED_DATE_KWARG

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


@pytest.fixture
def flow():
    return register_task_pipeline("dated", {"dates": {"function": t.dates}})


def test_a_launch_is_for_now_unless_a_logical_date_is_given(flow):
    before = timezone.now()
    run = launch_flow(flow)
    after = timezone.now()
    assert before <= run.logical_date <= after
    assert (run.data_interval_start, run.data_interval_end) == (None, None)

    day = datetime.datetime(2026, 1, 2, tzinfo=UTC)
    interval = (datetime.datetime(2026, 1, 1, tzinfo=UTC), day)
    run = launch_flow(flow, logical_date=day, data_interval=interval)
    run.refresh_from_db()
    assert (run.logical_date, run.data_interval_start, run.data_interval_end) == (day, *interval)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"logical_date": "2026-01-02"},
        {"data_interval": (datetime.datetime(2026, 1, 2, tzinfo=UTC), None)},
        {
            "data_interval": (
                datetime.datetime(2026, 1, 2, tzinfo=UTC),
                datetime.datetime(2026, 1, 1, tzinfo=UTC),
            )
        },
    ],
)
def test_bad_dates_are_refused_and_nothing_is_created(flow, kwargs):
    with pytest.raises(ValidationError):
        launch_flow(flow, **kwargs)
    assert not FlowRun.objects.exists()


def test_a_task_sees_the_logical_date_and_interval_in_its_context(flow):
    day = datetime.datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    run = run_flow(flow, logical_date=day, data_interval=(day - datetime.timedelta(days=1), day))
    assert run.status == "succeeded"
    assert run.task_runs.get().output == {
        "logical_date": "2026-03-04T05:06:00+00:00",
        "interval": ["2026-03-03T05:06:00+00:00", "2026-03-04T05:06:00+00:00"],
    }


def test_a_task_of_a_plain_launch_sees_the_launch_moment(flow):
    run = run_flow(flow)
    assert run.task_runs.get().output["logical_date"] == run.logical_date.isoformat()


def test_a_daily_fire_is_for_its_intended_time_with_the_day_before_as_interval(flow):
    schedule = FlowSchedule.objects.create(
        flow=flow, name="daily", kind=FlowSchedule.Kind.DAILY, at_time=datetime.time(3, 0)
    )
    assert Schedule.objects.get(pk=schedule.q_schedule_id).intended_date_kwarg == INTENDED_DATE_KWARG
    # Picked up hours after it was due (but before the next one): the run is for 03:00 that day.
    now = timezone.now()
    due = now.replace(hour=3, minute=0, second=0, microsecond=0)
    due -= datetime.timedelta(days=1) if due > now else datetime.timedelta(0)
    run = fire(schedule.pk, intended_date=due.isoformat())
    assert run.logical_date == due
    assert (run.data_interval_start, run.data_interval_end) == (due - datetime.timedelta(days=1), due)


def test_an_interval_schedule_s_data_interval_is_its_period(flow):
    schedule = FlowSchedule.objects.create(
        flow=flow, name="often", kind=FlowSchedule.Kind.MINUTES, every_minutes=5
    )
    due = (timezone.now() - datetime.timedelta(minutes=1)).replace(microsecond=0)
    run = fire(schedule.pk, intended_date=due.isoformat())
    assert (run.data_interval_start, run.data_interval_end) == (due - datetime.timedelta(minutes=5), due)


def test_django_q2_s_scheduler_passes_the_time_the_row_was_due(flow, monkeypatch):
    """The scheduler moves next_run on before the fire runs: the run keeps the time it was due."""
    from django_q.brokers import get_broker
    from django_q.models import OrmQ
    from django_q.scheduler import scheduler

    monkeypatch.setattr("django_q.scheduler.close_old_django_connections", lambda: None)
    schedule = FlowSchedule.objects.create(
        flow=flow, name="often", kind=FlowSchedule.Kind.MINUTES, every_minutes=5
    )
    # Due 2 minutes ago, before its next fire (a fire hours late launches the latest fire due: test_catchup.py).
    due = (timezone.now() - datetime.timedelta(minutes=2)).replace(microsecond=0)
    Schedule.objects.filter(pk=schedule.q_schedule_id).update(next_run=due)
    scheduler(broker=get_broker())
    [task] = [m.task for m in OrmQ.objects.all() if m.task["func"] == FIRE_FUNC]
    kwargs = {k: v for k, v in task["kwargs"].items() if k != "q_options"}
    run = fire(*task["args"], **kwargs)
    assert run.logical_date == due
    assert run.data_interval_start == due - datetime.timedelta(minutes=5)


def test_run_now_and_old_rows_without_the_keyword_are_for_now(flow):
    schedule = FlowSchedule.objects.create(
        flow=flow, name="often", kind=FlowSchedule.Kind.MINUTES, every_minutes=5
    )
    before = timezone.now()
    run = fire(schedule.pk)
    assert run.logical_date >= before
    assert run.data_interval_start is None
