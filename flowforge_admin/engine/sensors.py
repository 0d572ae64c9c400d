"""Sensors: a task checked every ``interval`` seconds until its function returns a true value.

A check is an ordinary delivery of the task's current attempt (claimed,
heartbeated and logged as any). A true value is the task's output, as for
any task. A false one ends the check without failing (:func:`not_yet`):
the task run becomes ``waiting`` (no worker, no pool slot), a log line says
so, and the engine's timer (:func:`~flowforge_admin.engine.dispatch.call_later`)
calls :func:`check_due` at the next check's time, which queues the same
attempt again (``waiting -> pending -> queued``, so a full pool makes it
wait for a slot as any task). Never a sleep in a worker.

Checks of one attempt are one attempt with a log line each: an exception
raised by the function is a failure that uses the task's ``retries`` (the
next attempt goes on checking); a false value uses nothing. The timeout
counts from the end of the first check (across retries; a clear, re-run or
retry starts again) and is looked at after each check that finds nothing:
then the task fails ("sensor timed out ...", not retried) or, with
``on_timeout: "skip"``, succeeds with no output. Each timed message names
the attempt and the check it is for, so a late, repeated or stale one (the
run cancelled, the task marked or cleared, the lost-work check's backstop
having sent it already) does nothing.
"""

import datetime
import logging

from ..db import sql
from ..models import TaskLog, TaskRun
from ..states import TaskState
from . import dispatch
from .advance import fail_attempt, own_attempt, task_finished
from .transitions import changing

logger = logging.getLogger("flowforge_admin.engine")


def next_check(task_run_id):
    """The number the check about to run has (one query, for sensors only)."""
    return (TaskRun.objects.filter(pk=task_run_id).values_list("checks", flat=True).first() or 0) + 1


def not_yet(run_id, name, attempt, settings):
    """Record a check of running ``attempt`` that found nothing: wait for the next one, or time out."""
    interval, timeout, on_timeout = settings
    with changing(run_id, worker=True) as change:
        if (
            change.status(name) != TaskState.RUNNING
            or change.row(name)["attempt"] != attempt
            or not own_attempt(change, name)
        ):
            return  # cancelled, marked, or taken over meanwhile
        pk = change.row(name)["pk"]
        checks, since = TaskRun.objects.values_list("checks", "wait_started_at").get(pk=pk)
        checks, since = checks + 1, since or change.now
        waited = (change.now - since).total_seconds()
        if waited >= timeout:
            message = f"sensor timed out after {timeout} s ({checks} checks)"
            if on_timeout == "skip":
                log_line(
                    pk, attempt, change.now, logging.WARNING, f"check {checks}: not yet; {message}: skipped"
                )
                if change.move(
                    name,
                    TaskState.SUCCEEDED,
                    expect=TaskState.RUNNING,
                    expect_attempt=attempt,
                    finished_at=change.now,
                    output=None,
                    checks=checks,
                    wait_started_at=since,
                ):
                    task_finished(change, name)
                return
            log_line(pk, attempt, change.now, logging.ERROR, f"check {checks}: not yet; {message}")
            fail_attempt(change, name, attempt, error=message, checks=checks, wait_started_at=since)
            return
        when = change.now + datetime.timedelta(seconds=interval)
        log_line(
            pk, attempt, change.now, logging.INFO, f"check {checks}: not yet; next check at {when:%H:%M:%S}"
        )
        if change.move(
            name,
            TaskState.WAITING,
            expect=TaskState.RUNNING,
            expect_attempt=attempt,
            next_attempt_at=when,
            checks=checks,
            wait_started_at=since,
            heartbeat_at=None,
        ):
            dispatch.call_later(
                dispatch.SENSOR_ENTRY,
                (pk, attempt, checks),
                when,
                name=f"flowforge check {pk}-{attempt}-{checks}",
            )


def check_due(task_run_id, attempt, checks):
    """The timer: queue the next check of a task run waiting after check ``checks`` of ``attempt`` (once)."""
    found = TaskRun.objects.filter(pk=task_run_id).values_list("run_id", "task_name").first()
    if found is None:
        return 0  # its run was deleted
    run_id, name = found
    with changing(run_id) as change:
        row = change.row(name)
        if row["status"] != TaskState.WAITING or row["attempt"] != attempt:
            return 0  # cancelled, marked, cleared, or sent already
        if not sql.update(
            TaskRun,
            {"pk": task_run_id, "status": TaskState.WAITING, "attempt": attempt, "checks": checks},
            {"next_attempt_at": None},
        ):
            return 0  # a later check's timer, or sent already by the lost-work check
        # Back through pending with the attempt it is on, so that queueing it takes its pool
        # slot (or leaves it pending, waiting for one) as for any task, and sends the same attempt.
        change.move(name, TaskState.PENDING, expect=TaskState.WAITING, attempt=attempt - 1)
        row["attempt"] = attempt - 1
        return int(change.queue_pending(name))


def resend_overdue(before):
    """The lost-work check's backstop: queue the checks due before ``before`` whose timed message was lost."""
    touched = 0
    for pk, attempt, checks in (
        # An approval step waits too, until its timeout (engine/approvals.py): not a check.
        TaskRun.objects.filter(
            status=TaskState.WAITING, approval_group__isnull=True, next_attempt_at__lt=before
        )
        .order_by()
        .values_list("pk", "attempt", "checks")
    ):
        touched += check_due(pk, attempt, checks)
    return touched


def log_line(pk, attempt, when, level, message):
    """Write one of the engine's own lines (source \"flowforge\") in a task run's log (sensors, approvals)."""
    TaskLog.objects.create(
        task_run_id=pk, attempt=attempt, logged_at=when, level=level, source="flowforge", message=message
    )
