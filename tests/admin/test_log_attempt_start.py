"""The log page's "Started" is the start of the attempt shown, not of the first attempt."""

import datetime
import logging
import re

import pytest
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import TaskLog, TaskRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


def at(hour):
    return datetime.datetime(2026, 12, 5, hour, 0, 0, tzinfo=datetime.UTC)


def started_shown(client, task_run, attempt):
    page = client.get(reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk]), {"attempt": attempt})
    assert page.status_code == 200
    return re.search(r"<dd data-ff-started>(.*?)</dd>", page.text).group(1)


@pytest.fixture
def retried(tmp_path):
    """A task that failed twice and succeeded on its third attempt, run by the engine."""
    flow = register_task_pipeline(
        "retried", {"flaky": {"function": t.fail_first, "retries": 2, "params": {"failures": 2}}}
    )
    task_run = run_flow(flow, {"marker_dir": str(tmp_path)}).task_runs.get()
    assert (task_run.status, task_run.attempt) == ("succeeded", 3)
    return task_run


def test_each_retry_opens_its_log_with_its_start(retried):
    for attempt in (2, 3):
        first = retried.logs.filter(attempt=attempt).order_by("id").first()
        assert (first.source, first.message) == ("flowforge", f"Attempt {attempt} started.")
    # The first attempt's start is the task run's own: its log begins with what the task said.
    assert not retried.logs.filter(attempt=1, message__startswith="Attempt ").exists()


def test_each_attempts_tab_shows_that_attempts_start(admin_client, retried):
    """Replaced attempts (1, 2) show the start recorded with them; the current one (3) its first line's."""
    assert list(retried.attempts.values_list("attempt", flat=True)) == [1, 2]
    for attempt, hour in ((1, 1), (2, 2)):
        retried.attempts.filter(attempt=attempt).update(
            started_at=at(hour), finished_at=at(hour) + datetime.timedelta(minutes=10)
        )
    start_line = retried.logs.get(attempt=3, message="Attempt 3 started.")
    TaskLog.objects.filter(pk=start_line.pk).update(logged_at=at(3))
    # Later lines of the attempt do not count.
    TaskLog.objects.filter(task_run=retried, attempt=3).exclude(pk=start_line.pk).update(
        logged_at=at(3) + datetime.timedelta(minutes=30)
    )

    assert "2026-12-05 01:00:00 UTC" in started_shown(admin_client, retried, 1)
    assert "2026-12-05 02:00:00 UTC" in started_shown(admin_client, retried, 2)
    assert "2026-12-05 03:00:00 UTC" in started_shown(admin_client, retried, 3)


def test_a_replaced_attempt_without_a_recorded_start_shows_its_first_lines(admin_client, retried):
    """Recorded before its worker wrote a line (or before attempts were recorded): its log tells."""
    retried.attempts.filter(attempt=2).update(started_at=None)
    TaskLog.objects.filter(task_run=retried, attempt=2).update(logged_at=at(2))
    assert "2026-12-05 02:00:00 UTC" in started_shown(admin_client, retried, 2)


def test_after_a_rerun_the_first_attempt_keeps_its_own_start(admin_client, retried):
    """A re-run moves the task run's start to its new round; attempt 1 began before."""
    TaskRun.objects.filter(pk=retried.pk).update(started_at=at(5))
    retried.attempts.filter(attempt=1).delete()  # as it was before attempts were recorded
    TaskLog.objects.filter(task_run=retried, attempt=1).update(logged_at=at(1))
    assert "2026-12-05 01:00:00 UTC" in started_shown(admin_client, retried, 1)


def test_an_attempt_that_has_not_started_shows_no_start(admin_client, retried):
    """A retry queued but not yet claimed by a worker has no start yet."""
    TaskRun.objects.filter(pk=retried.pk).update(attempt=4, status="queued")
    TaskLog.objects.create(
        task_run=retried, attempt=3, logged_at=at(3), level=logging.INFO, source="app", message="x"
    )
    assert started_shown(admin_client, retried, 4) == "—"
