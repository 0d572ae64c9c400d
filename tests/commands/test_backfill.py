"""`manage.py backfill SCHEDULE --start ... --end ... [--dry-run] [--rerun-existing] [--user U]`."""

import datetime
from io import StringIO

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import FlowRun, FlowSchedule, RunEvent

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
FIRST = datetime.datetime(2026, 1, 1, 2, tzinfo=UTC)
TEN_DAYS = ["2026-01-01", "2026-01-10T02:00:00Z"]


@pytest.fixture
def flow():
    return register_task_pipeline("report", {"echo": {"function": t.echo}}, params={"size": 1})


@pytest.fixture
def schedule(flow):
    return FlowSchedule.objects.create(
        flow=flow,
        name="nightly",
        kind=FlowSchedule.Kind.DAILY,
        at_time=datetime.time(2, 0),
        params={"size": 4},
    )


def backfill(*args):
    out = StringIO()
    call_command("backfill", *args, stdout=out)
    return out.getvalue()


def refused(*args):
    with pytest.raises(CommandError) as error:
        backfill(*args)
    assert error.value.returncode == 2
    assert not FlowRun.objects.exists()
    return str(error.value)


def span(*dates):
    return ["--start", dates[0], "--end", dates[1]]


def test_a_backfill_over_ten_fires_creates_ten_runs_oldest_first_with_their_dates(schedule):
    out = backfill(str(schedule.pk), *span(*TEN_DAYS))
    runs = list(FlowRun.objects.order_by("pk"))
    assert f"created 10 run(s) of schedule report / nightly, #{runs[0].pk} to #{runs[-1].pk}" in out
    fires = [FIRST + DAY * i for i in range(10)]
    # Created in the order of their fires (the ids count up with the logical dates).
    assert [run.logical_date for run in runs] == fires
    assert [(run.data_interval_start, run.data_interval_end) for run in runs] == [(f - DAY, f) for f in fires]
    assert {(run.triggered_by, run.schedule_id, run.status) for run in runs} == {
        ("backfill", schedule.pk, "queued")
    }
    assert {run.params["size"] for run in runs} == {4}
    # The same record as any launch: an event in each run's history (no user: no admin log).
    events = RunEvent.objects.filter(action=RunEvent.Action.LAUNCH).order_by("run_id")
    assert [event.run_id for event in events] == [run.pk for run in runs]
    assert events[0].message.startswith("Backfilled by schedule report / nightly by manage.py backfill")
    assert not LogEntry.objects.exists()
    schedule.refresh_from_db()
    # The schedule's own fire record is left alone.
    assert (schedule.last_fired_at, schedule.last_run_id, schedule.skipped_count) == (None, None, 0)


def test_a_schedule_is_named_by_flow_and_name_too(schedule):
    backfill("report/nightly", *span("2026-01-01", "2026-01-03T02:00Z"))
    assert FlowRun.objects.count() == 3


def test_a_dry_run_says_how_many_and_the_first_dates_and_creates_nothing(schedule):
    out = backfill("report/nightly", *span(*TEN_DAYS), "--dry-run")
    assert "Will create 10 run(s) of schedule report / nightly, one per fire from 2026-01-01 00:00 UTC" in out
    assert (
        "first logical dates: 2026-01-01 02:00 UTC, 2026-01-02 02:00 UTC, 2026-01-03 02:00 UTC, "
        "2026-01-04 02:00 UTC, 2026-01-05 02:00 UTC, ..."
    ) in out
    assert "dry run: nothing created" in out
    assert not FlowRun.objects.exists()


def test_fires_that_have_a_run_are_skipped_unless_rerun_existing(flow, schedule):
    had = launch_flow(flow, logical_date=FIRST + DAY * 2)
    FlowRun.objects.filter(pk=had.pk).update(schedule=schedule)
    out = backfill(str(schedule.pk), *span(*TEN_DAYS), "--dry-run")
    assert "Will create 9 run(s)" in out
    assert "1 fire(s) that already have a run are skipped" in out

    out = backfill(str(schedule.pk), *span(*TEN_DAYS))
    assert "created 9 run(s)" in out
    assert "1 fire(s) that already had a run skipped" in out
    dates = FlowRun.objects.filter(triggered_by="backfill").values_list("logical_date", flat=True)
    assert FIRST + DAY * 2 not in set(dates)
    assert len(dates) == 9

    out = backfill(str(schedule.pk), *span(*TEN_DAYS))
    assert "Created no run of schedule report / nightly" in out
    assert FlowRun.objects.count() == 10

    backfill(str(schedule.pk), *span(*TEN_DAYS), "--rerun-existing")
    assert FlowRun.objects.count() == 20
    assert FlowRun.objects.filter(logical_date=FIRST + DAY * 2).count() == 2


def test_a_naive_date_is_in_the_current_time_zone(schedule):
    with timezone.override("Europe/Paris"):
        # 03:00 in Paris is 02:00 UTC: the first fire is included.
        backfill(str(schedule.pk), *span("2026-01-01T03:00", "2026-01-02T02:59"))
    assert [run.logical_date for run in FlowRun.objects.all()] == [FIRST]


def test_a_user_s_backfill_is_in_the_admin_log_as_launches_and_one_summary(schedule):
    User.objects.create_superuser("ops", password="pw")
    backfill(str(schedule.pk), *span("2026-01-01", "2026-01-02T02:00Z"), "--user", "ops")
    first, second = FlowRun.objects.order_by("pk")
    assert (first.triggered_by, first.triggered_by_user.username) == ("backfill", "ops")
    entries = {
        (entry.content_type.model, entry.object_id, entry.action_flag) for entry in LogEntry.objects.all()
    }
    assert entries == {
        ("flowrun", str(first.pk), ADDITION),
        ("flowrun", str(second.pk), ADDITION),
        ("flow", str(schedule.flow_id), CHANGE),
        ("flowschedule", str(schedule.pk), CHANGE),
    }
    summary = LogEntry.objects.get(content_type__model="flowschedule")
    assert summary.change_message == (
        f"Backfilled 2 run(s), #{first.pk} to #{second.pk}, for the fires from 2026-01-01 00:00 UTC "
        "to 2026-01-02 02:00 UTC."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["report/daily", "--start", "2026-01-01", "--end", "2026-01-02"],
            "there is no schedule 'report/daily'",
        ),
        (["999", "--start", "2026-01-01", "--end", "2026-01-02"], "there is no schedule '999'"),
        (
            ["report/nightly", "--start", "yesterday", "--end", "2026-01-02"],
            "--start 'yesterday' is not an ISO 8601",
        ),
        (
            ["report/nightly", "--start", "2026-01-01", "--end", "2026-13-02"],
            "--end '2026-13-02' is not an ISO 8601",
        ),
        (
            ["report/nightly", "--start", "2026-01-05", "--end", "2026-01-02"],
            "the end (2026-01-02 00:00 UTC) is before the start (2026-01-05 00:00 UTC)",
        ),
        (["report/nightly", "--start", "2026-01-01", "--end", "2999-01-01"], "is in the future"),
        (
            ["report/nightly", "--start", "2026-01-01", "--end", "2026-01-02", "--user", "nobody"],
            "no such user",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message_and_creates_nothing(schedule, args, message):
    assert message in refused(*args)


@override_settings(FLOWFORGE_BACKFILL_MAX_RUNS=5)
def test_more_runs_than_the_limit_are_refused_with_the_count(schedule):
    for dry_run in ([], ["--dry-run"]):
        assert (
            "this backfill would create 10 runs, more than the limit of 5 (FLOWFORGE_BACKFILL_MAX_RUNS)"
            in refused(str(schedule.pk), *span(*TEN_DAYS), *dry_run)
        )
    backfill(str(schedule.pk), *span("2026-01-01", "2026-01-05T02:00Z"))
    assert FlowRun.objects.count() == 5


def test_a_user_who_may_not_launch_is_refused(schedule, role_user):
    role_user("Stakeholder")
    assert "may not backfill schedule report / nightly" in refused(
        str(schedule.pk), *span(*TEN_DAYS), "--user", "stakeholder"
    )


def test_a_paused_flow_is_refused(flow, schedule):
    flow.is_paused = True
    flow.save()
    assert "flow 'report' is paused" in refused(str(schedule.pk), *span(*TEN_DAYS), "--dry-run")
