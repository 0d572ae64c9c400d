"""FlowSchedule.fire_times_between: the fire times of a span, both ends included, oldest first."""

import datetime

import pytest
from django_q.models import Schedule

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import FlowSchedule

from .. import engine_tasks as t

UTC = datetime.UTC


def at(day, hour=0, minute=0, second=0):
    return datetime.datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


def test_calendar_kinds_include_both_ends_and_stop_at_the_limit():
    schedule = FlowSchedule(kind=FlowSchedule.Kind.DAILY, at_time=datetime.time(2))
    assert schedule.fire_times_between(at(1, 2), at(3, 2)) == [at(1, 2), at(2, 2), at(3, 2)]
    assert schedule.fire_times_between(at(1, 2, 0, 1), at(3, 1, 59)) == [at(2, 2)]
    assert schedule.fire_times_between(at(1), at(10), limit=2) == [at(1, 2), at(2, 2)]
    assert schedule.fire_times_between(at(3), at(1)) == []
    newest_first = list(schedule.iter_fire_times(at(1), at(3, 2), reverse=True))
    assert newest_first == [at(3, 2), at(2, 2), at(1, 2)]


def test_a_cron_schedule_uses_its_expression_in_utc():
    schedule = FlowSchedule(kind=FlowSchedule.Kind.CRON, cron="30 6 * * 1-5")
    # 2026-01-02 is a Friday: the weekend has no fire.
    paris = datetime.timezone(datetime.timedelta(hours=1))
    start = datetime.datetime(2026, 1, 2, 7, 30, tzinfo=paris)  # 06:30 UTC, included
    assert schedule.fire_times_between(start, at(5, 6, 30)) == [at(2, 6, 30), at(5, 6, 30)]


def test_a_once_schedule_fires_at_its_time_only():
    schedule = FlowSchedule(kind=FlowSchedule.Kind.ONCE, run_at=at(5, 12))
    assert schedule.fire_times_between(at(1), at(9)) == [at(5, 12)]
    assert schedule.fire_times_between(at(6), at(9)) == []


@pytest.mark.django_db
def test_every_n_minutes_lies_on_the_grid_of_its_django_q2_row():
    """Django-Q2 adds the period to the row's next_run at each fire: past fires are next_run less periods."""
    flow = register_task_pipeline("gridded", {"ok": {"function": t.echo}})
    schedule = FlowSchedule.objects.create(
        flow=flow, name="q", kind=FlowSchedule.Kind.MINUTES, every_minutes=15
    )
    Schedule.objects.filter(pk=schedule.q_schedule_id).update(next_run=at(20, 9, 10, 5))
    schedule = FlowSchedule.objects.select_related("q_schedule").get(pk=schedule.pk)
    assert schedule.fire_times_between(at(1, 0, 0), at(1, 1, 0)) == [
        at(1, 0, 10, 5),
        at(1, 0, 25, 5),
        at(1, 0, 40, 5),
        at(1, 0, 55, 5),
    ]
    # Through another time (a fire being delivered), or midnight UTC for a schedule with no row.
    assert schedule.fire_times_between(at(1, 0, 0), at(1, 0, 30), anchor=at(1, 0, 7)) == [
        at(1, 0, 7),
        at(1, 0, 22),
    ]
    assert FlowSchedule(kind="minutes", every_minutes=15).fire_times_between(at(1), at(1, 0, 30)) == [
        at(1),
        at(1, 0, 15),
        at(1, 0, 30),
    ]
