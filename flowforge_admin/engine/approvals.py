"""Approval steps: tasks a person approves or rejects (the task key ``approval``).

When its upstream is done, an approval step becomes ``waiting`` (attempt 1)
with its approvers written on the task run (``approval_group``: a Django
group's name, or "" for those with the ``approve_task`` permission), so that
"waiting for me" is one indexed query. It holds no worker, no pool slot and
sends no heartbeat; nothing polls it. Then one of three things finishes it,
each under the run's lock and only while it is still waiting on the same
attempt (so a late timer, a second click or a cleared step changes nothing):

- :func:`decide`, approved: it succeeds with the approver's data (checked
  against the step's ``params_schema``) as its output;
- :func:`decide`, rejected: it fails with the approver's comment as its error;
- :func:`time_out`, the engine's timer at its ``timeout``: it fails.

Who may decide is the actions' business (:mod:`flowforge_admin.actions.approvals`);
the engine records who did, in the task's log. ``run_flow`` runs a flow in
this process, with nobody to decide: an approval step fails there at once.
"""

import datetime
import logging
from types import SimpleNamespace

from django.core.exceptions import ValidationError

from ..alerts import watch as alerts
from ..definitions.approvals import approval_settings
from ..definitions.params import check_run_params
from ..exceptions import InvalidTransition
from ..models import TaskRun
from ..states import TaskState

# The module, not its function: advance imports this one to start approval steps.
from . import advance, dispatch
from .sensors import log_line
from .transitions import changing

logger = logging.getLogger("flowforge_admin.engine")

LOCAL_ERROR = (
    "an approval step waits for a person, and run_flow runs the flow in this process with "
    "nobody to decide: launch the flow instead"
)


def wait(change, name):
    """Start approval step ``name`` (pending, its upstream done): it waits for its approvers.

    Return True if it finished at once instead (in ``run_flow``).
    """
    group, _schema, timeout = approval_settings(change.snapshot.tasks[name])
    now = change.now
    if dispatch.nobody_decides():
        return change.move(
            name,
            TaskState.FAILED,
            expect=TaskState.PENDING,
            next_attempt=True,
            started_at=now,
            finished_at=now,
            error=LOCAL_ERROR,
        )
    deadline = now + datetime.timedelta(seconds=timeout) if timeout else None
    if not change.move(
        name,
        TaskState.WAITING,
        expect=TaskState.PENDING,
        next_attempt=True,
        started_at=now,
        wait_started_at=now,
        next_attempt_at=deadline,
        approval_group=group,
    ):
        return False
    row = change.row(name)
    whom = f"group {group!r}" if group else "someone with the approve_task permission"
    until = f" until {deadline:%Y-%m-%d %H:%M:%S %Z}" if deadline else ""
    log_line(row["pk"], row["attempt"], now, logging.INFO, f"waiting for approval by {whom}{until}")
    if deadline:
        dispatch.call_later(
            dispatch.APPROVAL_ENTRY,
            (row["pk"], row["attempt"]),
            deadline,
            name=f"flowforge approval {row['pk']}-{row['attempt']}",
        )
    alerts.task_waiting_on_commit(
        change.run.flow_id, change.run.pk, row["pk"], f"waiting for approval by {whom}"
    )
    return False


def check_data(task_name, schema, data):
    """Return an approver's ``data`` (None: {}) if it suits the step's ``params_schema``; else raise ValidationError.

    The same check (and words) as a run's parameters meet: "params.<key>: ...".
    """
    data = {} if data is None else data
    step = SimpleNamespace(name=f"{task_name} (approval)", params={}, params_schema=schema)
    check_run_params(step, data)
    return data


def decide(task_run, *, approved, by, comment="", data=None):
    """Approve (with ``data``) or reject (with ``comment``) a waiting approval step; return the task run.

    ``by`` names who decided, for the task's log and error. Raise
    InvalidTransition when the task is no approval step or is not waiting
    any more, ValidationError when ``data`` does not suit its form or a
    rejection gives no reason; then nothing has changed.
    """
    comment = (comment or "").strip()
    with changing(task_run.run_id) as change:
        name = task_run.task_name
        settings = approval_settings(change.snapshot.tasks.get(name) or {})
        if settings is None:
            raise InvalidTransition(f"task {name} of run #{task_run.run_id} is not an approval step")
        row = change.row(name)
        if row["status"] != TaskState.WAITING:
            raise InvalidTransition(
                f"task {name} of run #{task_run.run_id} is {row['status']}: "
                "only an approval step that is waiting can be approved or rejected"
            )
        said = f": {comment}" if comment else ""
        if approved:
            output = check_data(name, settings[1], data)
            moved = change.move(
                name,
                TaskState.SUCCEEDED,
                expect=TaskState.WAITING,
                expect_attempt=row["attempt"],
                finished_at=change.now,
                next_attempt_at=None,
                output=output,
            )
            line = (logging.INFO, f"approved by {by}{said}")
        else:
            if not comment:
                raise ValidationError(
                    "a rejection needs a comment: it becomes the task's error", code="comment_required"
                )
            moved = change.move(
                name,
                TaskState.FAILED,
                expect=TaskState.WAITING,
                expect_attempt=row["attempt"],
                finished_at=change.now,
                next_attempt_at=None,
                error=f"rejected by {by}{said}",
            )
            line = (logging.WARNING, f"rejected by {by}{said}")
        if moved:
            log_line(row["pk"], row["attempt"], change.now, *line)
            advance.task_finished(change, name)
    task_run.refresh_from_db()
    return task_run


def time_out(task_run_id, attempt):
    """The timer: fail an approval step still waiting on ``attempt`` past its timeout (once); return 1 if it did."""
    found = (
        TaskRun.objects.filter(pk=task_run_id).values_list("run_id", "task_name", "next_attempt_at").first()
    )
    if found is None:
        return 0  # its run was deleted
    run_id, name, deadline = found
    with changing(run_id) as change:
        row = change.row(name)
        if row["status"] != TaskState.WAITING or row["attempt"] != attempt:
            return 0  # decided, cancelled, cleared, or timed out already
        if deadline is None or deadline > change.now:
            return 0  # a timer of an earlier wait, or early: the right one follows
        timeout = approval_settings(change.snapshot.tasks[name])[2]
        message = f"approval timed out after {timeout} s: nobody approved or rejected it"
        if change.move(
            name,
            TaskState.FAILED,
            expect=TaskState.WAITING,
            expect_attempt=attempt,
            finished_at=change.now,
            next_attempt_at=None,
            error=message,
        ):
            log_line(row["pk"], attempt, change.now, logging.ERROR, message)
            advance.task_finished(change, name)
            return 1
    return 0


def expire_overdue(before):
    """The lost-work check's backstop: time out the approval steps due before ``before`` whose timer was lost."""
    return sum(
        time_out(pk, attempt)
        for pk, attempt in TaskRun.objects.filter(
            status=TaskState.WAITING, approval_group__isnull=False, next_attempt_at__lt=before
        )
        .order_by()
        .values_list("pk", "attempt")
    )
