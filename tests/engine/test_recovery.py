"""engine/recovery.py: lost attempts, lost messages, due retries and stuck runs brought back (no cluster)."""

import datetime

import pytest
from django.utils import timezone
from django_q.models import Schedule

from flowforge_admin.api import launch_flow, register_task_pipeline, rerun_failed, run_flow
from flowforge_admin.engine import recovery
from flowforge_admin.engine.worker import claim, execute_task
from flowforge_admin.models import FlowRun, TaskRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import deliver, fix_counts, make_stale, messages, run_actions, task_run
from .invariants import run_problems

pytestmark = pytest.mark.django_db


def test_lost_worker_gives_a_new_attempt_then_fails(launched, django_capture_on_commit_callbacks, settings):
    settings.FLOWFORGE_MAX_LOST_ATTEMPTS = 2
    a = task_run(launched, "a")
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    # Attempt 1 was claimed by a worker that then died.
    make_stale(a, status=TaskState.RUNNING, heartbeat_at=long_ago)
    fix_counts(launched, TaskState.QUEUED, TaskState.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 1
    a.refresh_from_db()
    assert (a.status, a.attempt, a.lost_attempts) == (TaskState.QUEUED, 2, 1)
    assert a.error == "attempt 1 lost its worker (no heartbeat)"
    assert (a.pk, 2) in messages()
    # The old message, delivered again, does nothing.
    with django_capture_on_commit_callbacks(execute=True):
        execute_task(a.pk, 1)
    a.refresh_from_db()
    assert a.status == TaskState.QUEUED
    # Lost once more: that is the limit.
    make_stale(a, status=TaskState.RUNNING, heartbeat_at=long_ago)
    fix_counts(launched, TaskState.QUEUED, TaskState.RUNNING)
    recovery.check_lost_work()
    a.refresh_from_db()
    assert a.status == TaskState.FAILED
    assert "2 attempts lost, giving up" in a.error
    launched.refresh_from_db()
    assert launched.status == RunState.FAILED
    assert launched.upstream_failed_count == 3


def test_stale_queued_message_is_sent_again_once(launched, django_capture_on_commit_callbacks):
    a = task_run(launched, "a")
    make_stale(a, queued_at=timezone.now() - datetime.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 1
        assert recovery.check_lost_work() == 0  # queued_at moved: not again at once
    assert messages() == [(a.pk, 1), (a.pk, 1)]


def test_due_retry_is_resumed_by_the_check(db, marker_dir, django_capture_on_commit_callbacks):
    flow = register_task_pipeline(
        "retry_later", {"flaky": {"function": t.fail_first, "retries": 1, "retry_delay": 60}}
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    flaky = run.task_runs.get()
    deliver(django_capture_on_commit_callbacks, flaky.pk, 1)
    flaky.refresh_from_db()
    assert flaky.status == TaskState.RETRYING
    # Its delay (retry_delay=60 for the first retry) counts from when the attempt failed.
    delay = flaky.next_attempt_at - flaky.started_at
    assert datetime.timedelta(minutes=1) <= delay < datetime.timedelta(minutes=1.1)
    # The one-off Django-Q2 schedule that will resume it:
    schedule = Schedule.objects.get(func="flowforge_admin.engine.recovery.resume_retry")
    assert (schedule.schedule_type, schedule.args) == (Schedule.ONCE, repr((flaky.pk, 1)))
    assert recovery.check_lost_work() == 0  # not due yet
    make_stale(flaky, next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 1
    flaky.refresh_from_db()
    assert (flaky.status, flaky.attempt) == (TaskState.QUEUED, 2)
    # The schedule firing late changes nothing more.
    assert recovery.resume_retry(flaky.pk, 1) == 0


def test_the_check_is_a_schedule_after_migrate():
    schedule = Schedule.objects.get(name=recovery.CHECK_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        recovery.CHECK_FUNC,
        Schedule.MINUTES,
        1,
        -1,
    )


def test_lost_work_check_settles_a_run_left_stuck_by_an_older_release(db):
    """A group left failed, its task marked succeeded and its downstream pending (issue 16), with nothing queued."""
    flow = register_task_pipeline(
        "stuck",
        {
            "g": {"nested_tasks": {"x": {"function": t.fail}}},
            "after": {"function": t.gather, "depends_on": ["g"]},
        },
    )
    run = run_flow(flow)
    # What mark_task used to leave behind.
    TaskRun.objects.filter(run=run, task_name="x").update(status=TaskState.SUCCEEDED)
    TaskRun.objects.filter(run=run, task_name="after").update(status=TaskState.PENDING)
    FlowRun.objects.filter(pk=run.pk).update(
        status=RunState.RUNNING,
        finished_at=None,
        succeeded_count=1,
        failed_count=1,
        pending_count=1,
        upstream_failed_count=0,
    )
    assert recovery.check_lost_work() == 1
    run.refresh_from_db()
    assert run.status == RunState.FAILED  # it can be re-run now
    assert recovery.check_lost_work() == 0
    run_actions(lambda: rerun_failed(run))
    run.refresh_from_db()
    assert run.status == RunState.SUCCEEDED
    assert run_problems(run) == []


def test_a_healthy_run_is_left_alone(launched):
    sent = messages()
    assert recovery.check_lost_work() == 0
    assert messages() == sent
    assert task_run(launched, "a").status == TaskState.QUEUED


def test_a_lost_attempt_already_taken_over_is_not_recovered_again(launched):
    """The check read attempt 1 as lost, but attempt 2 runs by the time it takes the run's lock."""
    a = task_run(launched, "a")
    assert claim(a.pk, 1, launched.pk) is not None
    assert recovery.recover_lost_attempt(launched.pk, "a", 2) == 0
    assert recovery.recover_lost_attempt(launched.pk, "b", 1) == 0  # b is not running at all
    a.refresh_from_db()
    assert (a.status, a.attempt, a.lost_attempts) == (TaskState.RUNNING, 1, 0)


def test_a_lost_attempt_is_recovered_without_its_heartbeat_being_read_again(launched):
    """recover_lost_attempt trusts the check's reading: the attempt is what it compares, under the lock."""
    a = task_run(launched, "a")
    assert claim(a.pk, 1, launched.pk) is not None
    assert recovery.recover_lost_attempt(launched.pk, "a", 1) == 1
    a.refresh_from_db()
    assert (a.status, a.attempt, a.lost_attempts) == (TaskState.QUEUED, 2, 1)
    launched.refresh_from_db()
    assert (launched.queued_count, launched.running_count) == (1, 0)


def test_resuming_a_retry_of_a_deleted_run_does_nothing(launched):
    """The one-off schedule of a retry can fire after its run was deleted."""
    pk = task_run(launched, "a").pk
    FlowRun.objects.filter(pk=launched.pk).delete()
    assert recovery.resume_retry(pk, 1) == 0


def test_settling_leaves_a_run_with_work_in_flight_alone(launched):
    assert recovery.settle_stuck_runs() == 0
    launched.refresh_from_db()
    assert (launched.status, launched.queued_count, launched.pending_count) == (RunState.QUEUED, 1, 3)


def test_the_check_schedule_follows_the_setting_and_stays_one_row(settings):
    settings.FLOWFORGE_CHECK_MINUTES = 7
    recovery.ensure_schedule()
    recovery.ensure_schedule()
    schedule = Schedule.objects.get(name=recovery.CHECK_NAME)
    assert (schedule.minutes, Schedule.objects.filter(func=recovery.CHECK_FUNC).count()) == (7, 1)
