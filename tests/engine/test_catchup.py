"""Fires delivered late (no cluster ran while they were due): the latest only, or each one (catchup).

Fires are simulated by calling ``fire()`` with the intended date Django-Q2
would pass; test_schedule_fire.py has the same through Django-Q2's scheduler.
"""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from flowforge_admin.actions.backfill import BackfillAction
from flowforge_admin.api import register_task_pipeline
from flowforge_admin.engine.schedule_fire import fire
from flowforge_admin.models import FlowRun, FlowSchedule, RunEvent

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

FIVE = datetime.timedelta(minutes=5)


@pytest.fixture
def flow():
    return register_task_pipeline("late", {"echo": {"function": t.echo}})


def every_five(flow, **fields):
    # Overlap allowed: these tests launch several runs that stay queued (no worker).
    return FlowSchedule.objects.create(
        flow=flow,
        name="five",
        kind=FlowSchedule.Kind.MINUTES,
        every_minutes=5,
        overlap=FlowSchedule.Overlap.ALLOW,
        **fields,
    )


def an_hour_late():
    """The intended date of a fire due 62 minutes ago: with it, 13 fire times of every 5 minutes are due."""
    intended = (timezone.now() - datetime.timedelta(minutes=62)).replace(microsecond=0)
    return intended, [intended + FIVE * i for i in range(13)]


def when(moment):
    """As the schedule's messages write a fire time: to the second when it has seconds."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")


def test_without_catchup_a_late_fire_launches_only_the_latest_fire_due(flow):
    schedule = every_five(flow)
    intended, due = an_hour_late()
    run = fire(schedule.pk, intended_date=intended.isoformat())
    assert list(FlowRun.objects.values_list("pk", flat=True)) == [run.pk]
    assert (run.logical_date, run.data_interval_start, run.data_interval_end) == (due[-1], due[-2], due[-1])
    schedule.refresh_from_db()
    assert (schedule.last_outcome, schedule.last_run_id, schedule.skipped_count) == ("launched", run.pk, 12)
    assert schedule.last_message == (
        f"launched run #{run.pk}; 12 earlier missed fire(s) from {when(intended)} not run (catch-up is off)"
    )


def test_without_catchup_later_deliveries_of_older_missed_fires_are_skipped(flow):
    """Django-Q2 with its own catch_up on delivers every missed fire, one per tick: they add nothing."""
    schedule = every_five(flow)
    intended, due = an_hour_late()
    run = fire(schedule.pk, intended_date=intended.isoformat())
    for older in due[1:]:
        assert fire(schedule.pk, intended_date=older.isoformat()) is None
    assert FlowRun.objects.count() == 1
    schedule.refresh_from_db()
    assert schedule.last_outcome == "skipped"
    assert schedule.last_message == f"skipped: the fire of {when(due[-1])} already has run #{run.pk}"
    assert schedule.skipped_count == 12 + 12


def test_with_catchup_each_missed_fire_gets_a_run_oldest_first(flow):
    schedule = every_five(flow, catchup=True)
    intended, due = an_hour_late()
    last = fire(schedule.pk, intended_date=intended.isoformat())
    runs = list(FlowRun.objects.order_by("pk"))
    assert runs[-1] == last
    assert [run.logical_date for run in runs] == due
    assert [(run.data_interval_start, run.data_interval_end) for run in runs] == [(d - FIVE, d) for d in due]
    assert {run.triggered_by for run in runs} == {"schedule"}
    assert RunEvent.objects.filter(action=RunEvent.Action.LAUNCH).count() == 13
    schedule.refresh_from_db()
    assert (schedule.last_outcome, schedule.last_run_id, schedule.skipped_count) == ("launched", last.pk, 0)
    assert schedule.last_message == (
        f"launched 13 runs, #{runs[0].pk} to #{last.pk}, for the fires from {when(due[0])} to {when(due[-1])}"
    )
    # The missed fires delivered once more (Django-Q2's own catch-up): no second run for any.
    for again in due:
        assert fire(schedule.pk, intended_date=again.isoformat()) is None
    assert FlowRun.objects.count() == 13


@override_settings(FLOWFORGE_CATCHUP_MAX_RUNS=3)
def test_catchup_is_capped_the_newest_fires_run_and_the_rest_is_said(flow):
    schedule = every_five(flow, catchup=True)
    intended, due = an_hour_late()
    fire(schedule.pk, intended_date=intended.isoformat())
    assert list(FlowRun.objects.order_by("pk").values_list("logical_date", flat=True)) == due[-3:]
    schedule.refresh_from_db()
    assert schedule.skipped_count == 10
    assert schedule.last_message.endswith(
        f"; 10 older missed fire(s) from {when(intended)} skipped: over the catch-up limit of 3 "
        "(FLOWFORGE_CATCHUP_MAX_RUNS); a backfill can run them"
    )


def test_a_fire_on_time_launches_one_run_catchup_or_not(flow):
    schedule = every_five(flow, catchup=True)
    intended = (timezone.now() - datetime.timedelta(minutes=1)).replace(microsecond=0)
    run = fire(schedule.pk, intended_date=intended.isoformat())
    assert run.logical_date == intended
    schedule.refresh_from_db()
    assert (schedule.last_message, schedule.skipped_count) == (f"launched run #{run.pk}", 0)


def test_a_fire_delivered_twice_launches_once_and_records_the_second(flow):
    schedule = every_five(flow)
    intended = (timezone.now() - datetime.timedelta(minutes=1)).replace(microsecond=0)
    run = fire(schedule.pk, intended_date=intended.isoformat())
    assert fire(schedule.pk, intended_date=intended.isoformat()) is None
    assert FlowRun.objects.count() == 1
    schedule.refresh_from_db()
    assert (schedule.last_outcome, schedule.skipped_count) == ("skipped", 1)
    assert schedule.last_message == f"skipped: the fire of {when(intended)} already has run #{run.pk}"


def test_a_fire_that_a_backfill_already_ran_launches_nothing(flow):
    schedule = every_five(flow)
    # On the schedule's own grid (its Django-Q2 row's next run, less periods), where a backfill's fires are.
    intended = schedule.q_schedule.next_run - FIVE
    [backfilled] = BackfillAction(schedule, intended, intended).execute()
    assert fire(schedule.pk, intended_date=intended.isoformat()) is None
    assert list(FlowRun.objects.all()) == [backfilled]


def test_a_daily_schedule_down_for_three_days_catches_up_three_days(flow):
    schedule = FlowSchedule.objects.create(
        flow=flow, name="daily", kind=FlowSchedule.Kind.DAILY, at_time=datetime.time(3, 0), catchup=True
    )
    now = timezone.now()
    latest = now.replace(hour=3, minute=0, second=0, microsecond=0)
    latest -= datetime.timedelta(days=1) if latest > now else datetime.timedelta(0)
    days = [latest - datetime.timedelta(days=n) for n in (2, 1, 0)]
    fire(schedule.pk, intended_date=days[0].isoformat())
    assert list(FlowRun.objects.order_by("pk").values_list("logical_date", flat=True)) == days
