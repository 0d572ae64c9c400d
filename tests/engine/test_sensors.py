"""Sensors in this process: a false check waits (no worker, no slot), the timer, and what people do to a waiting task.

The real-worker behaviour (checks spaced by the interval, timeouts, kill -9)
is in test_sensors_on_workers.py.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from flowforge_admin.api import (
    cancel_run,
    clear_tasks,
    launch_flow,
    mark_task,
    register_task_pipeline,
    run_flow,
)
from flowforge_admin.engine import dispatch, recovery, sensors
from flowforge_admin.health import oldest_queued_age
from flowforge_admin.models import Pool, TaskLog, TaskRun
from flowforge_admin.states import TASK_ACTIVE, TASK_HOLDING_SLOTS, RunState, TaskState

from .. import engine_tasks as t
from .conftest import deliver, statuses
from .invariants import run_problems

pytestmark = pytest.mark.django_db


def timers():
    """(args, due) of every sensor timer message waiting in the ORM broker."""
    return [
        (tuple(message.task["args"]), message.lock)
        for message in OrmQ.objects.order_by("id")
        if message.task["func"] == dispatch.SENSOR_ENTRY
    ]


def worker_messages():
    return [
        tuple(m.task["args"][:2])
        for m in OrmQ.objects.order_by("id")
        if m.task["func"] == dispatch.WORKER_ENTRY
    ]


@pytest.fixture
def waiting(db, django_capture_on_commit_callbacks):
    """A run whose sensor (in a pool of one slot, with another task of that pool) has had one false check."""
    Pool.objects.create(name="one", slots=1)
    flow = register_task_pipeline(
        "sensing",
        {
            "wait": {"function": t.never, "sensor": {"interval": 60, "timeout": 3600}, "pool": "one"},
            "other": {"function": t.echo, "pool": "one"},
            "after": {"function": t.echo, "depends_on": ["wait"]},
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow)
    assert statuses(run)["other"] == TaskState.PENDING  # waiting for the pool's one slot
    sensor = run.task_runs.get(task_name="wait")
    OrmQ.objects.all().delete()
    deliver(django_capture_on_commit_callbacks, sensor.pk, 1)
    sensor.refresh_from_db()
    return run, sensor


def test_a_false_check_waits_holding_no_worker_and_giving_its_slot_back(waiting):
    run, sensor = waiting
    assert (sensor.status, sensor.attempt, sensor.checks) == (TaskState.WAITING, 1, 1)
    assert TaskState.WAITING in TASK_ACTIVE
    assert TaskState.WAITING not in TASK_HOLDING_SLOTS
    delay = sensor.next_attempt_at - sensor.wait_started_at
    assert delay == datetime.timedelta(seconds=60)
    [line] = TaskLog.objects.filter(task_run=sensor).values_list("message", flat=True)
    due = timezone.localtime(sensor.next_attempt_at)
    assert line == f"check 1: not yet; next check at {due:%H:%M:%S}"
    # The next check is a timed message no worker may take before it is due...
    assert timers() == [((sensor.pk, 1, 1), sensor.next_attempt_at)]
    assert dispatch._broker().queue_size() == 1  # ...so only the other task's message is there to take
    # ...and the slot it gave back went to the other task of its pool.
    assert worker_messages() == [(run.task_runs.get(task_name="other").pk, 1)]
    run.refresh_from_db()
    assert (run.status, run.waiting_count, run.running_count) == (RunState.RUNNING, 1, 0)
    assert run_problems(run) == []


def test_the_timer_queues_the_same_attempt_once(waiting, django_capture_on_commit_callbacks):
    run, sensor = waiting
    OrmQ.objects.all().delete()
    assert sensors.check_due(sensor.pk, 1, 0) == 0  # a timer of an earlier check
    with django_capture_on_commit_callbacks(execute=True):
        assert sensors.check_due(sensor.pk, 1, 1) == 1
    # Its pool's one slot is the other task's now: the check waits for it, as any task would.
    sensor.refresh_from_db()
    assert (sensor.status, sensor.attempt, sensor.next_attempt_at) == (TaskState.PENDING, 0, None)
    assert sensor.pool_waiting_since is not None
    deliver(django_capture_on_commit_callbacks, run.task_runs.get(task_name="other").pk, 1)
    sensor.refresh_from_db()
    assert (sensor.status, sensor.attempt) == (TaskState.QUEUED, 1)  # the same attempt
    assert worker_messages() == [(sensor.pk, 1)]
    assert sensors.check_due(sensor.pk, 1, 1) == 0  # delivered twice: nothing more
    # The second check is a line of the same attempt's log.
    deliver(django_capture_on_commit_callbacks, sensor.pk, 1)
    sensor.refresh_from_db()
    assert (sensor.status, sensor.attempt, sensor.checks) == (TaskState.WAITING, 1, 2)
    lines = list(TaskLog.objects.filter(task_run=sensor).order_by("id").values_list("attempt", "message"))
    assert [(attempt, text.split(";")[0]) for attempt, text in lines] == [
        (1, "check 1: not yet"),
        (1, "check 2: not yet"),
    ]


def test_cancel_cancels_a_waiting_sensor_and_its_timer_then_does_nothing(waiting):
    run, sensor = waiting
    cancel_run(run)
    assert statuses(run)["wait"] == TaskState.CANCELLED
    assert sensors.check_due(sensor.pk, 1, 1) == 0
    assert statuses(run)["wait"] == TaskState.CANCELLED
    run.refresh_from_db()
    assert (run.status, run.waiting_count) == (RunState.CANCELLED, 0)


def test_a_waiting_sensor_marked_succeeded_lets_its_downstream_run_and_its_timer_does_nothing(waiting):
    run, sensor = waiting
    mark_task(sensor, TaskState.SUCCEEDED, "the file came by hand")
    sensor.refresh_from_db()
    assert (sensor.status, sensor.attempt) == (TaskState.SUCCEEDED, 2)
    assert statuses(run)["after"] == TaskState.QUEUED
    assert sensors.check_due(sensor.pk, 1, 1) == 0
    assert run_problems(run) == []


def test_a_cleared_waiting_sensor_checks_afresh_as_a_new_attempt(waiting):
    run, sensor = waiting
    clear_tasks(run, ["wait"])
    sensor.refresh_from_db()
    # Pending for its pool's slot (the other task holds it), its checks and timeout counted anew.
    assert (sensor.status, sensor.checks, sensor.wait_started_at) == (TaskState.PENDING, 0, None)
    assert sensors.check_due(sensor.pk, 1, 1) == 0
    # The replaced attempt is kept, as discarded.
    assert list(sensor.attempts.values_list("attempt", "status")) == [(1, TaskState.CANCELLED)]


def test_the_lost_work_check_leaves_a_waiting_task_alone_and_resends_an_overdue_check(
    waiting, django_capture_on_commit_callbacks, settings
):
    run, sensor = waiting
    deliver(django_capture_on_commit_callbacks, run.task_runs.get(task_name="other").pk, 1)  # frees the slot
    OrmQ.objects.all().delete()  # the timed message is lost
    assert oldest_queued_age() is None  # a waiting task is not work queued too long (health)
    assert recovery.check_lost_work() == 0
    assert statuses(run)["wait"] == TaskState.WAITING
    # Due, but not overdue by the requeue threshold: still left to its timer.
    TaskRun.objects.filter(pk=sensor.pk).update(next_attempt_at=timezone.now())
    assert recovery.check_lost_work() == 0
    overdue = timezone.now() - datetime.timedelta(seconds=settings.FLOWFORGE_REQUEUE_AFTER_SECONDS + 1)
    TaskRun.objects.filter(pk=sensor.pk).update(next_attempt_at=overdue)
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 1
    sensor.refresh_from_db()
    assert (sensor.status, sensor.attempt, sensor.checks) == (TaskState.QUEUED, 1, 1)
    assert worker_messages() == [(sensor.pk, 1)]
    assert sensors.check_due(sensor.pk, 1, 1) == 0  # the lost message turning up late does nothing


def test_an_exception_is_a_failure_that_uses_the_retries_a_false_value_is_not(tmp_path):
    flow = register_task_pipeline(
        "flaky_sensor",
        {"wait": {"function": t.fail_first, "retries": 1, "sensor": {"interval": 1}}},
        params={"marker_dir": str(tmp_path)},
    )
    run = run_flow(flow)
    wait = run.task_runs.get()
    assert (run.status, wait.status, wait.attempt, wait.output) == (
        RunState.SUCCEEDED,
        "succeeded",
        2,
        {"attempt": 2},
    )
    assert TaskLog.objects.filter(task_run=wait, attempt=2, message="check 1: condition met").exists()


@pytest.mark.parametrize(
    ("on_timeout", "status", "after"),
    [
        ("fail", TaskState.FAILED, TaskState.UPSTREAM_FAILED),
        ("skip", TaskState.SUCCEEDED, TaskState.SUCCEEDED),
    ],
)
def test_past_its_timeout_a_sensor_fails_or_is_skipped(on_timeout, status, after):
    flow = register_task_pipeline(
        "late",
        {
            "wait": {"function": t.never, "sensor": {"interval": 1, "timeout": 1, "on_timeout": on_timeout}},
            "after": {"function": t.echo, "depends_on": ["wait"]},
        },
    )
    run = run_flow(flow)  # run_flow waits for the interval in this process
    wait = run.task_runs.get(task_name="wait")
    assert (wait.status, wait.output, statuses(run)["after"]) == (status, None, after)
    assert wait.checks == 2
    message = "sensor timed out after 1 s (2 checks)"
    last = TaskLog.objects.filter(task_run=wait).order_by("id").last().message
    if on_timeout == "fail":
        assert (wait.error, last) == (message, f"check 2: not yet; {message}")
    else:
        assert (wait.error, last) == ("", f"check 2: not yet; {message}: skipped")


def test_the_run_page_api_and_drawing_show_a_waiting_sensor(waiting, admin_client):
    run, sensor = waiting
    due = timezone.localtime(sensor.next_attempt_at)
    page = admin_client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]))
    assert page.status_code == 200
    row = page.text[page.text.index('id="task-wait"') :].split("</tr>")[0]
    assert "ff-status-waiting" in row
    assert f"next check at {due:%H:%M:%S}, check 2" in row
    assert page.context["run"].task_counts()["waiting"] == 1
    filtered = admin_client.get(
        reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]), {"task_status": "waiting"}
    )
    assert 'id="task-wait"' in filtered.text
    assert 'id="task-after"' not in filtered.text
    graph = admin_client.get(reverse("admin:flowforge_admin_flowrun_graph_data", args=[run.pk])).json()
    assert graph["statuses"]["wait"]["status"] == "waiting"
    assert {"status": "waiting", "label": "waiting"} in graph["legend"]
    detail = admin_client.get(reverse("flowforge_admin:api-task-detail", args=[run.pk, "wait"])).json()
    assert (detail["status"], detail["checks"]) == ("waiting", 1)
