"""Flow schedules: their form, their words, their next fire times, and their one Django-Q2 row."""

import datetime

import pytest
from django.utils import timezone
from django_q.models import Schedule

from flowforge_admin.forms.schedules import FlowScheduleForm, describe
from flowforge_admin.models import FlowSchedule
from flowforge_admin.q_schedules import FIRE_FUNC

from ..conftest import schedule_form_data, sized_flow

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


@pytest.fixture
def flow():
    return sized_flow("nightly")


def make(flow, **fields):
    form = FlowScheduleForm(data=schedule_form_data(flow, **fields))
    assert form.is_valid(), form.errors
    return form.save()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"kind": "daily", "at_time": "02:00"}, "every day at 02:00 UTC"),
        ({"kind": "hourly", "at_time": "00:15"}, "every hour at :15"),
        ({"kind": "weekly", "at_time": "06:30", "weekday": "0"}, "every Monday at 06:30 UTC"),
        (
            {"kind": "monthly", "at_time": "01:00", "day_of_month": "1"},
            "on day 1 of every month at 01:00 UTC",
        ),
        ({"kind": "minutes", "every_minutes": "15"}, "every 15 minutes"),
        ({"kind": "cron", "cron": "0 2 * * 1-5"}, "At 02:00, Monday through Friday (UTC)"),
        ({"kind": "once", "run_at": "2999-01-02 03:04"}, "once, at 2999-01-02 03:04 UTC"),
    ],
)
def test_each_kind_is_described_in_words(flow, fields, words):
    assert describe(make(flow, **fields)) == words


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "cron", "cron": "61 * * * *"}, "cron", "is not a valid cron expression"),
        ({"kind": "cron", "cron": "every day"}, "cron", "is not a valid cron expression"),
        ({"kind": "cron", "cron": ""}, "cron", "needs a cron expression"),
        ({"kind": "minutes", "every_minutes": ""}, "every_minutes", "every how many minutes"),
        ({"kind": "weekly", "weekday": ""}, "weekday", "needs a weekday"),
        ({"kind": "monthly", "day_of_month": "31"}, "day_of_month", "from 1 to 28"),
        ({"kind": "once", "run_at": ""}, "run_at", "Say when it runs"),
        ({"kind": "once", "run_at": "2001-01-01 00:00"}, "run_at", "This time has passed"),
        ({"params": '{"size": 0}'}, "params", "params.size: 0 is less than the minimum of 1"),
        ({"params": "[1, 2]"}, "params", "params"),
    ],
)
def test_a_bad_schedule_is_a_form_error_and_writes_nothing(flow, fields, field, message):
    form = FlowScheduleForm(data=schedule_form_data(flow, **fields))
    assert not form.is_valid()
    assert any(message in error for error in form.errors[field]), form.errors
    assert not FlowSchedule.objects.exists()
    assert not Schedule.objects.filter(func=FIRE_FUNC).exists()


def test_daily_schedule_owns_one_cron_row_calling_the_engine_with_its_id(flow, settings):
    schedule = make(flow, kind="daily", at_time="02:30")
    q = Schedule.objects.get(func=FIRE_FUNC)
    assert schedule.q_schedule == q
    assert (q.schedule_type, q.cron, q.args, q.repeats) == (
        Schedule.CRON,
        "30 2 * * *",
        repr((schedule.pk,)),
        -1,
    )
    assert q.cluster == settings.Q_CLUSTER["name"]
    assert not q.kwargs  # nothing for ast.literal_eval to mangle: the parameters stay here
    assert q.next_run == schedule.next_fire_times(1)[0]
    assert (q.next_run.hour, q.next_run.minute) == (2, 30)


def test_editing_a_schedule_updates_its_row_and_deleting_it_deletes_the_row(flow):
    schedule = make(flow, kind="daily")
    schedule.kind, schedule.every_minutes = FlowSchedule.Kind.MINUTES, 10
    schedule.save()
    q = Schedule.objects.get(func=FIRE_FUNC)
    assert (q.pk, q.schedule_type, q.minutes) == (schedule.q_schedule_id, Schedule.MINUTES, 10)
    schedule.delete()
    assert not Schedule.objects.filter(func=FIRE_FUNC).exists()


def test_deleting_the_flow_deletes_its_schedules_rows(flow):
    make(flow, name="a")
    make(flow, name="b", kind="hourly")
    assert Schedule.objects.filter(func=FIRE_FUNC).count() == 2
    flow.delete()
    assert not Schedule.objects.filter(func=FIRE_FUNC).exists()


def test_pausing_the_schedule_or_its_flow_stops_its_row(flow):
    schedule = make(flow)
    schedule.is_paused = True
    schedule.save()
    assert Schedule.objects.get(func=FIRE_FUNC).repeats == 0
    schedule.is_paused = False
    schedule.save()
    assert Schedule.objects.get(func=FIRE_FUNC).repeats == -1

    flow.is_paused = True
    flow.save()
    assert Schedule.objects.get(func=FIRE_FUNC).repeats == 0
    flow.is_paused = False
    flow.save()
    assert Schedule.objects.get(func=FIRE_FUNC).repeats == -1


def test_resuming_sets_the_next_fire_from_now_so_missed_fires_are_not_replayed(flow):
    schedule = make(flow, kind="minutes", every_minutes="5")
    Schedule.objects.filter(pk=schedule.q_schedule_id).update(
        next_run=timezone.now() - datetime.timedelta(days=3)
    )
    schedule.refresh_from_db()
    schedule.is_paused = True
    schedule.save()
    schedule.is_paused = False
    schedule.save()
    assert Schedule.objects.get(pk=schedule.q_schedule_id).next_run > timezone.now()


def test_a_once_schedule_fires_once_and_keeps_its_row(flow):
    schedule = make(flow, kind="once", run_at="2999-01-02 03:04")
    q = Schedule.objects.get(func=FIRE_FUNC)
    assert (q.schedule_type, q.repeats) == (Schedule.ONCE, 1)
    assert q.next_run == datetime.datetime(2999, 1, 2, 3, 4, tzinfo=UTC)
    assert schedule.next_fire_times(5) == [q.next_run]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"kind": "daily", "at_time": "02:00"},
            [
                "2026-01-01 02:00",
                "2026-01-02 02:00",
                "2026-01-03 02:00",
                "2026-01-04 02:00",
                "2026-01-05 02:00",
            ],
        ),
        (
            {"kind": "weekly", "at_time": "02:00", "weekday": "0"},  # 2026-01-05 is a Monday
            [
                "2026-01-05 02:00",
                "2026-01-12 02:00",
                "2026-01-19 02:00",
                "2026-01-26 02:00",
                "2026-02-02 02:00",
            ],
        ),
        (
            {"kind": "monthly", "at_time": "00:00", "day_of_month": "15"},
            [
                "2026-01-15 00:00",
                "2026-02-15 00:00",
                "2026-03-15 00:00",
                "2026-04-15 00:00",
                "2026-05-15 00:00",
            ],
        ),
        (
            {"kind": "hourly", "at_time": "00:45"},
            [
                "2026-01-01 00:45",
                "2026-01-01 01:45",
                "2026-01-01 02:45",
                "2026-01-01 03:45",
                "2026-01-01 04:45",
            ],
        ),
        (
            {"kind": "cron", "cron": "0 9 * * 1-5"},  # 2026-01-01 is a Thursday
            [
                "2026-01-01 09:00",
                "2026-01-02 09:00",
                "2026-01-05 09:00",
                "2026-01-06 09:00",
                "2026-01-07 09:00",
            ],
        ),
    ],
)
def test_next_five_fire_times(flow, fields, expected):
    schedule = make(flow, **fields)
    after = datetime.datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    times = schedule.next_fire_times(5, after=after)
    assert [moment.strftime("%Y-%m-%d %H:%M") for moment in times] == expected
    assert all(moment.tzinfo is not None for moment in times)
