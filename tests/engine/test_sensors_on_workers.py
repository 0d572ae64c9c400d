"""Waiting tasks on real workers (one qcluster for the module): sensors' checks as timed messages,
never a sleep in a worker, and approval steps that hold no worker while a person decides."""

import datetime
import itertools
import re

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from flowforge_admin.actions.approvals import DecideApprovalAction
from flowforge_admin.api import cancel_run, launch_flow, register_task_pipeline
from flowforge_admin.engine import dispatch, recovery
from flowforge_admin.models import TaskLog, TaskRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .cluster import Cluster, purge_queue, wait_for
from .conftest import statuses
from .test_cluster import finished, task_status

pytestmark = pytest.mark.django_db(transaction=True)

# On Redis a check's timer is a one-off schedule, fired by a scheduler that ticks every 30 s.
SLOW = 150

PROCESSED_CHECK = f"Processed '{dispatch.SENSOR_ENTRY}'"
CHECK = re.compile(r"check (\d+): (not yet|condition met)")


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        purge_queue()
        cluster = Cluster(tmp_path_factory.mktemp("sensors") / "qcluster.log")
        cluster.start()
    yield cluster
    cluster.stop()


def check_lines(task_run):
    """[(check number, outcome, logged at)] of a task run's log, in order."""
    lines = TaskLog.objects.filter(task_run=task_run).order_by("logged_at", "id")
    return [
        (int(found[1]), found[2], line.logged_at) for line in lines if (found := CHECK.match(line.message))
    ]


def sensing(name, path, interval, **sensor):
    return register_task_pipeline(
        name,
        {
            "wait": {
                "function": t.file_arrived,
                "params": {"path": str(path)},
                "sensor": {"interval": interval, **sensor},
            },
            "after": {"function": t.gather, "depends_on": ["wait"]},
        },
    )


def idle(workers):
    """(running task runs, messages a worker may take, task attempts a worker took and has not finished).

    All 0 when no worker holds a task. The last one from the cluster's own log: every
    ``processing flowforge-<task run>-<attempt>`` line has its ``Processed`` line.
    """
    log = workers.log()
    taken = len(re.findall(r" processing flowforge-\d+-\d+ ", log))
    done = len(re.findall(rf"(?:Processed|Failed) '{re.escape(dispatch.WORKER_ENTRY)}'", log))
    return (
        TaskRun.objects.filter(status=TaskState.RUNNING).count(),
        dispatch._broker().queue_size(),
        taken - done,
    )


def test_a_sensor_true_on_its_third_check_holds_no_worker_between_checks(workers, tmp_path):
    arrived = tmp_path / "arrived.csv"
    run = launch_flow(sensing("file_sensor", arrived, interval=2, timeout=300))
    wait = run.task_runs.get(task_name="wait")
    wait_for(lambda: len(check_lines(wait)) == 2, timeout=SLOW, message="the second check to be logged")
    wait.refresh_from_db()
    assert (wait.status, wait.checks) == (TaskState.WAITING, 2), workers.log()
    assert wait.next_attempt_at > timezone.now() - datetime.timedelta(seconds=1)
    # Between checks no worker holds it: the next check is a message no worker may take yet.
    # (Django-Q2's monitor logs a message's "Processed" just after its worker is done with it.)
    wait_for(lambda: idle(workers) == (0, 0, 0), message="no worker to hold the sensor between checks")
    arrived.write_text("rows: 3")

    run = finished(run, timeout=SLOW)

    assert run.status == RunState.SUCCEEDED, workers.log()
    wait.refresh_from_db()
    assert (wait.output, wait.attempt, wait.checks) == ("rows: 3", 1, 2)
    assert run.task_runs.get(task_name="after").output["outputs"] == {"wait": "rows: 3"}
    lines = check_lines(wait)
    assert [(number, outcome) for number, outcome, _ in lines] == [
        (1, "not yet"),
        (2, "not yet"),
        (3, "condition met"),
    ]
    # Each check came at least its interval after the one before.
    gaps = [(later - earlier).total_seconds() for (_, _, earlier), (_, _, later) in itertools.pairwise(lines)]
    assert all(gap >= 2 for gap in gaps), gaps


def test_past_its_timeout_a_sensor_fails_or_is_skipped(workers, tmp_path):
    failing = launch_flow(sensing("late_fail", tmp_path / "never", interval=1, timeout=2))
    skipping = launch_flow(sensing("late_skip", tmp_path / "never", interval=1, timeout=2, on_timeout="skip"))

    failing, skipping = finished(failing, timeout=SLOW), finished(skipping, timeout=SLOW)

    assert failing.status == RunState.FAILED, workers.log()
    assert statuses(failing) == {"wait": TaskState.FAILED, "after": TaskState.UPSTREAM_FAILED}
    wait = failing.task_runs.get(task_name="wait")
    # At least one check after the timeout: 3 on the ORM broker (0, >= 1, >= 2 s), 2 on Redis (30 s ticks).
    assert wait.checks >= 2
    assert wait.error == f"sensor timed out after 2 s ({wait.checks} checks)"
    assert skipping.status == RunState.SUCCEEDED, workers.log()
    skipped = skipping.task_runs.get(task_name="wait")
    assert (skipped.status, skipped.output) == (TaskState.SUCCEEDED, None)
    assert TaskLog.objects.filter(task_run=skipped, message__endswith="skipped").exists()


def test_cancel_of_a_run_with_a_waiting_sensor_and_its_later_timer_does_nothing(workers, tmp_path):
    run = launch_flow(sensing("cancelled_sensor", tmp_path / "never", interval=2, timeout=300))
    wait = run.task_runs.get(task_name="wait")
    wait_for(lambda: task_status(run, "wait") == TaskState.WAITING, message="the sensor to wait")
    timers_done = workers.log().count(PROCESSED_CHECK)
    cancel_run(run)
    # The timer's message is taken when due (no other sensor waits now), and changes nothing.
    wait_for(
        lambda: workers.log().count(PROCESSED_CHECK) > timers_done,
        timeout=SLOW,
        message="the timer to be processed",
    )
    run.refresh_from_db()
    assert run.status == RunState.CANCELLED
    assert statuses(run) == {"wait": TaskState.CANCELLED, "after": TaskState.CANCELLED}
    assert [number for number, _, _ in check_lines(wait)] == [1]
    assert not OrmQ.objects.exists()


def test_the_lost_work_check_leaves_a_waiting_sensor_alone_and_resends_a_lost_check(
    workers, tmp_path, settings
):
    arrived = tmp_path / "arrived"
    run = launch_flow(sensing("lost_timer", arrived, interval=3600, timeout=7200))
    wait = run.task_runs.get(task_name="wait")
    wait_for(lambda: task_status(run, "wait") == TaskState.WAITING, message="the sensor to wait")
    assert recovery.check_lost_work() == 0
    assert task_status(run, "wait") == TaskState.WAITING
    # Its timed message is lost, and its check is overdue by more than the requeue threshold.
    OrmQ.objects.filter(key=dispatch._broker().list_key).delete()  # the ORM broker's timed message
    Schedule.objects.filter(func=dispatch.SENSOR_ENTRY).delete()  # Redis: the one-off schedule
    overdue = timezone.now() - datetime.timedelta(seconds=settings.FLOWFORGE_REQUEUE_AFTER_SECONDS + 1)
    TaskRun.objects.filter(pk=wait.pk).update(next_attempt_at=overdue)
    arrived.write_text("found")

    assert recovery.check_lost_work() == 1

    run = finished(run, timeout=SLOW)
    assert run.status == RunState.SUCCEEDED, workers.log()
    assert [number for number, _, _ in check_lines(wait)] == [1, 2]


def test_kill_9_while_a_sensor_waits_then_a_new_cluster_finishes_it(workers, tmp_path):
    arrived = tmp_path / "arrived"
    run = launch_flow(sensing("survives", arrived, interval=2, timeout=300))
    wait_for(lambda: task_status(run, "wait") == TaskState.WAITING, message="the sensor to wait")
    workers.kill()
    arrived.write_text("after the crash")
    workers.start()

    run = finished(run, timeout=SLOW)

    assert run.status == RunState.SUCCEEDED, workers.log()
    wait = run.task_runs.get(task_name="wait")
    assert (wait.output, wait.attempt, wait.lost_attempts) == ("after the crash", 1, 0)


def reviewed(name):
    """train -> review (an approval step of group "Model reviewers") -> deploy."""
    return register_task_pipeline(
        name,
        {
            "train": {"function": t.echo},
            "review": {"depends_on": ["train"], "approval": {"group": "Model reviewers", "timeout": 3600}},
            "deploy": {"function": t.gather, "depends_on": ["review"]},
        },
    )


def test_an_approval_step_holds_no_worker_and_its_approval_lets_the_run_finish(workers, django_user_model):
    run = launch_flow(reviewed("approved_on_workers"))
    wait_for(
        lambda: task_status(run, "review") == TaskState.WAITING, timeout=SLOW, message="the step to wait"
    )
    # Nothing runs, nothing is queued for a worker, no worker holds a task: the cluster is idle.
    wait_for(lambda: idle(workers) == (0, 0, 0), message="the cluster to be idle")
    assert statuses(run)["deploy"] == TaskState.PENDING
    boss = django_user_model.objects.create_superuser("boss", password="x")
    review = run.task_runs.get(task_name="review")
    DecideApprovalAction(review, approve=True, comment="go", data={"stage": "prod"}, user=boss).execute()

    run = finished(run, timeout=SLOW)

    assert run.status == RunState.SUCCEEDED, workers.log()
    assert run.task_runs.get(task_name="deploy").output["outputs"] == {"review": {"stage": "prod"}}


def test_kill_9_while_tasks_wait_for_a_person_and_a_file_then_both_finish(
    workers, tmp_path, django_user_model
):
    arrived = tmp_path / "arrived"
    sensed = launch_flow(sensing("sensed_across_crash", arrived, interval=2, timeout=300))
    approved = launch_flow(reviewed("approved_across_crash"))
    wait_for(
        lambda: (task_status(sensed, "wait"), task_status(approved, "review")) == (TaskState.WAITING,) * 2,
        timeout=SLOW,
        message="both to wait",
    )
    workers.kill()
    arrived.write_text("here")
    boss = django_user_model.objects.create_superuser("boss", password="x")
    DecideApprovalAction(approved.task_runs.get(task_name="review"), approve=True, user=boss).execute()
    workers.start()

    assert finished(sensed, timeout=SLOW).status == RunState.SUCCEEDED, workers.log()
    assert finished(approved, timeout=SLOW).status == RunState.SUCCEEDED, workers.log()
    review = approved.task_runs.get(task_name="review")
    assert (review.attempt, review.lost_attempts) == (1, 0)
