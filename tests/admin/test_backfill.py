"""A schedule's Backfill page: Operators preview a span of fires, then create their runs."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client, override_settings
from django.urls import reverse

from flowforge_admin.models import FlowRun, FlowSchedule

from ..conftest import sized_flow

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
TEN_DAYS = {"start": "2026-01-01 00:00", "end": "2026-01-10 02:00"}


@pytest.fixture
def schedule():
    return FlowSchedule.objects.create(
        flow=sized_flow("nightly"), name="at two", kind="daily", at_time=datetime.time(2), params={"size": 4}
    )


def backfill_url(schedule):
    return reverse("admin:flowforge_admin_flowschedule_backfill", args=[schedule.pk])


def client_of(role_user, group, **kwargs):
    client = Client(**kwargs)
    client.force_login(role_user(group))
    return client


def test_the_schedule_page_links_to_backfill_for_those_who_may_launch(role_user, schedule):
    change = reverse("admin:flowforge_admin_flowschedule_change", args=[schedule.pk])
    assert backfill_url(schedule) in client_of(role_user, "Operator").get(change).text
    assert backfill_url(schedule) not in client_of(role_user, "Stakeholder").get(change).text


def test_a_stakeholder_may_not_open_or_post_the_backfill_page(role_user, schedule):
    stakeholder = client_of(role_user, "Stakeholder")
    assert stakeholder.get(backfill_url(schedule)).status_code == 403
    assert stakeholder.post(backfill_url(schedule), {**TEN_DAYS, "_confirm": "1"}).status_code == 403
    assert not FlowRun.objects.exists()


def test_preview_then_confirm_creates_the_runs_oldest_first_and_logs_them(role_user, schedule):
    operator = client_of(role_user, "Operator")
    page = operator.get(backfill_url(schedule))
    assert page.status_code == 200
    assert 'name="_confirm"' not in page.text

    preview = operator.post(backfill_url(schedule), TEN_DAYS)
    assert preview.status_code == 200
    assert not FlowRun.objects.exists()
    text = preview.text
    assert (
        "Will create 10 run(s) of schedule nightly / at two, one per fire from 2026-01-01 00:00 UTC" in text
    )
    assert "<li>2026-01-01 02:00 UTC</li><li>2026-01-02 02:00 UTC</li>" in text
    assert 'value="Create 10 runs" class="default" name="_confirm"' in text

    done = operator.post(backfill_url(schedule), {**TEN_DAYS, "_confirm": "1"})
    assert done.url == reverse("admin:flowforge_admin_flowschedule_change", args=[schedule.pk])
    runs = list(FlowRun.objects.order_by("pk"))
    first = datetime.datetime(2026, 1, 1, 2, tzinfo=UTC)
    assert [run.logical_date for run in runs] == [first + datetime.timedelta(days=i) for i in range(10)]
    assert {(run.triggered_by, run.triggered_by_user.username, run.params["size"]) for run in runs} == {
        ("backfill", "operator", 4)
    }
    summary = LogEntry.objects.get(content_type__model="flowschedule")
    assert summary.get_change_message().startswith(f"Backfilled 10 run(s), #{runs[0].pk} to #{runs[-1].pk}")
    assert LogEntry.objects.filter(content_type__model="flowrun").count() == 10
    message = operator.get(done.url).text
    assert f"Backfill: created 10 run(s), #{runs[0].pk} to #{runs[-1].pk}" in message
    listing = operator.get(reverse("admin:flowforge_admin_flowrun_changelist")).text
    change = reverse("admin:flowforge_admin_flowschedule_change", args=[schedule.pk])
    assert f'backfill: <a href="{change}">at two</a>' in listing


def test_re_run_existing_is_a_choice_of_the_form(role_user, schedule):
    operator = client_of(role_user, "Operator")
    operator.post(backfill_url(schedule), {**TEN_DAYS, "_confirm": "1"})
    again = operator.post(backfill_url(schedule), TEN_DAYS).text
    assert "Will create no run of schedule nightly / at two" in again
    assert "10 fire(s) that already have a run are skipped" in again
    assert 'name="_confirm"' not in again
    rerun = operator.post(backfill_url(schedule), {**TEN_DAYS, "rerun_existing": "on"}).text
    assert "Will create 10 run(s)" in rerun
    operator.post(backfill_url(schedule), {**TEN_DAYS, "rerun_existing": "on", "_confirm": "1"})
    assert FlowRun.objects.count() == 20


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"start": "2026-01-10", "end": "2026-01-01"},
            "the end (2026-01-01 00:00 UTC) is before the start (2026-01-10 00:00 UTC)",
        ),
        ({"start": "2026-01-01", "end": "2999-01-01"}, "is in the future"),
        ({"start": "last week", "end": "2026-01-01"}, "Enter a date, or a date and time"),
        ({"start": "", "end": "2026-01-01"}, "This field is required."),
    ],
)
def test_bad_input_is_a_form_error_and_creates_nothing(role_user, schedule, data, message):
    operator = client_of(role_user, "Operator")
    for confirm in ({}, {"_confirm": "1"}):
        response = operator.post(backfill_url(schedule), {**data, **confirm})
        assert response.status_code == 200
        assert "Please correct the error below." in response.text
        assert message in response.text
    assert not FlowRun.objects.exists()
    assert not LogEntry.objects.exists()


@override_settings(FLOWFORGE_BACKFILL_MAX_RUNS=3)
def test_over_the_limit_is_refused_with_the_count(role_user, schedule):
    response = client_of(role_user, "Operator").post(backfill_url(schedule), {**TEN_DAYS, "_confirm": "1"})
    assert "this backfill would create 10 runs, more than the limit of 3" in response.text
    assert not FlowRun.objects.exists()


def test_get_creates_nothing_and_post_needs_the_csrf_token(role_user, schedule):
    operator = client_of(role_user, "Operator", enforce_csrf_checks=True)
    assert operator.get(backfill_url(schedule), {**TEN_DAYS, "_confirm": "1"}).status_code == 200
    assert operator.post(backfill_url(schedule), {**TEN_DAYS, "_confirm": "1"}).status_code == 403
    assert not FlowRun.objects.exists()


def test_an_unknown_schedule_is_404(role_user):
    response = client_of(role_user, "Operator").get("/admin/flowforge_admin/flowschedule/999/backfill/")
    assert response.status_code == 404


def test_the_schedule_form_shows_catchup_with_its_limit(role_user, schedule):
    change = reverse("admin:flowforge_admin_flowschedule_change", args=[schedule.pk])
    with override_settings(FLOWFORGE_CATCHUP_MAX_RUNS=7):
        page = client_of(role_user, "Editor").get(change).text
    assert 'name="catchup"' in page
    assert "each missed fire gets its own run, oldest first, up to 7 (FLOWFORGE_CATCHUP_MAX_RUNS" in page
