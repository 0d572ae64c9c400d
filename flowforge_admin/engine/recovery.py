"""Bringing back lost work: dead workers, lost messages, due retries and stuck runs.

Delivery is at least once and success is recorded at most once, so all of
this is safe to repeat. :func:`check_lost_work` runs as a Django-Q2 schedule
(made sure of by ``migrate``, see :func:`ensure_schedule`):

- a ``running`` attempt whose heartbeat is stale lost its worker: it becomes
  a new attempt (not counted among its retries) or, after too many lost
  attempts, a failure. (Most are handed on sooner, as the worker that
  replaces a dead one starts: engine/watchdog.py. This is the backstop);
- a ``queued`` attempt older than a threshold may have lost its message (the
  Redis broker prefetches, and loses what a killed cluster held): it is sent
  again, harmless when the first message still exists, since only one claim
  can succeed;
- a ``retrying`` attempt whose time has come is queued, should its one-off
  schedule have been missed;
- a ``waiting`` task (a sensor between checks, an approval step) is not
  lost work: no worker, no heartbeat. Only when its next check (or an
  approval's timeout) is overdue by more than the requeue threshold (its
  timed message was lost) is that check queued (or the approval timed out);
- a run that is not finished but has nothing queued, running or retrying
  would wait for ever (nothing polls its pending tasks): its tasks are
  evaluated again, so that it goes on or finishes. No state change leaves
  a run so (tests/engine/test_run_state_machine.py); this repairs runs left
  so by an older release, and any bug of that kind still unknown.
"""

import datetime
import logging

from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django.utils import timezone
from django_q.models import Schedule

from ..alerts.delivery import resend_stuck
from ..alerts.sla import check_sla
from ..conf import get_setting
from ..definitions.registry import function_path
from ..models import FlowRun, TaskRun
from ..states import RUN_CANCELLABLE, RunState, TaskState
from . import admission, approvals, attempts, dispatch, pools, sensors
from .advance import fail_attempt, own_attempt, queue_attempt, start_run
from .retries import may_requeue_lost
from .snapshot import snapshot_of
from .transitions import changing

logger = logging.getLogger("flowforge_admin.engine")

IN_FLIGHT = (TaskState.QUEUED, TaskState.RUNNING, TaskState.RETRYING, TaskState.WAITING)
CHECK_NAME = "flowforge: lost work check"


def check_lost_work():
    """Recover lost attempts and messages, and settle stuck runs; return how many task runs and runs were touched."""
    now = timezone.now()
    touched = 0
    lost_before = now - datetime.timedelta(seconds=get_setting("FLOWFORGE_LOST_AFTER_SECONDS"))
    # No ordering (the model's joins the runs): each lookup reads its partial index alone.
    for run_id, name, attempt in (
        TaskRun.objects.filter(status=TaskState.RUNNING, heartbeat_at__lt=lost_before)
        .order_by()
        .values_list("run_id", "task_name", "attempt")
    ):
        touched += recover_lost_attempt(run_id, name, attempt)
    requeue_before = now - datetime.timedelta(seconds=get_setting("FLOWFORGE_REQUEUE_AFTER_SECONDS"))
    for pk, run_id, attempt, task in _stale_queued(requeue_before):
        # Only the one whose queued_at we moved sends again, should two checks overlap.
        if TaskRun.objects.filter(
            pk=pk, status=TaskState.QUEUED, attempt=attempt, queued_at__lt=requeue_before
        ).update(queued_at=now):
            # To the task's own queue: only that cluster's workers may run it.
            dispatch.enqueue(pk, attempt, run_id=run_id, timeout=task["timeout"], queue=task.get("queue", ""))
            touched += 1
    for pk, attempt in (
        TaskRun.objects.filter(status=TaskState.RETRYING, next_attempt_at__lte=now)
        .order_by()
        .values_list("pk", "attempt")
    ):
        touched += resume_retry(pk, attempt)
    # A waiting task holds no worker and sends no heartbeat: left alone, unless its next
    # check is overdue by the requeue threshold (its timed message was lost).
    touched += sensors.resend_overdue(requeue_before)
    touched += approvals.expire_overdue(requeue_before)
    touched += settle_stuck_runs(launched_before=requeue_before)
    # Backstops of what the change that freed a place or a slot does after its commit.
    for flow_id in admission.flows_with_held_runs():
        touched += admission.admit(flow_id)
    touched += pools.wake(pools.waiting_pools())
    # Alerts: not recovered work, so not counted.
    check_sla(now)
    resend_stuck(now)
    if touched:
        logger.warning("lost-work check: %s task run(s) recovered", touched)
    return touched


def _stale_queued(before):
    for task_run in (
        TaskRun.objects.filter(status=TaskState.QUEUED, queued_at__lt=before)
        .order_by()
        .select_related("run")
        .only("pk", "task_name", "attempt", "run__id", "run__created_at")
    ):
        task = snapshot_of(task_run.run_id, task_run.run.created_at).tasks[task_run.task_name]
        yield task_run.pk, task_run.run_id, task_run.attempt, task


def recover_lost_attempt(run_id, name, attempt, why="no heartbeat"):
    """Turn a running attempt whose worker died into a new attempt or a failure (``why``: how that was seen)."""
    with changing(run_id) as change:
        if (
            change.status(name) != TaskState.RUNNING
            or change.row(name)["attempt"] != attempt
            or not own_attempt(change, name)
        ):
            return 0
        pk = change.row(name)["pk"]
        lost = TaskRun.objects.values_list("lost_attempts", flat=True).get(pk=pk) + 1
        message = f"attempt {attempt} lost its worker ({why})"
        if may_requeue_lost(lost):
            attempts.keep(change, [name], status=TaskState.FAILED, error=message, traceback="")
            queue_attempt(
                change,
                name,
                expect=TaskState.RUNNING,
                expect_attempt=attempt,
                lost_attempts=lost,  # read under the run's lock: nothing else moves it
                error=message,
            )
        else:
            fail_attempt(
                change, name, attempt, lost_attempts=lost, error=f"{message}; {lost} attempts lost, giving up"
            )
        logger.warning("run %s task %s: %s", run_id, name, message)
        return 1


def settle_stuck_runs(launched_before=None):
    """Evaluate again the tasks of every unfinished run with nothing queued, running, retrying or waiting; return how many.

    A big launch leaves its run so until a worker starts it (engine/launch.py): runs
    still queued and created after ``launched_before`` are left to that message.
    """
    settled = 0
    # The kept counters find them without reading a task run.
    stuck = FlowRun.objects.filter(
        status__in=RUN_CANCELLABLE, queued_count=0, running_count=0, retrying_count=0, waiting_count=0
    )
    if launched_before is not None:
        stuck = stuck.exclude(status=RunState.QUEUED, created_at__gte=launched_before)
    for run_id in stuck.values_list("pk", flat=True):
        with changing(run_id) as change:
            if change.run.status not in RUN_CANCELLABLE or change.count(*IN_FLIGHT):
                continue  # it moved meanwhile
            start_run(change)
            logger.error(
                "run %s had nothing queued, running or retrying: its tasks were evaluated again", run_id
            )
            settled += 1
    return settled


# The path Django-Q2's schedule calls, taken from the function itself.
CHECK_FUNC = function_path(check_lost_work)


def resume_retry(task_run_id, attempt):
    """Queue the next attempt of a retrying task run whose delay is over (once)."""
    found = TaskRun.objects.filter(pk=task_run_id).values_list("run_id", "task_name").first()
    if found is None:
        return 0
    run_id, name = found
    with changing(run_id) as change:
        return int(queue_attempt(change, name, expect=TaskState.RETRYING, expect_attempt=attempt))


def ensure_schedule():
    """Create or update the Django-Q2 schedule that runs :func:`check_lost_work`."""
    Schedule.objects.update_or_create(
        name=CHECK_NAME,
        defaults={
            "func": CHECK_FUNC,
            "schedule_type": Schedule.MINUTES,
            "minutes": get_setting("FLOWFORGE_CHECK_MINUTES"),
            "repeats": -1,
        },
    )


@receiver(post_migrate, dispatch_uid="flowforge_admin.ensure_lost_work_check")
def ensure_schedule_after_migrate(sender, **kwargs):
    """Make sure of the lost-work check after every migrate of this app."""
    # django_q's tables exist by now: it is migrated before this app.
    if sender.label == "flowforge_admin":
        ensure_schedule()
