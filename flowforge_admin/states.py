"""The status vocabulary of runs and task runs, used by models, admin, drawings and API.

Stored values are a contract: change labels freely, values only with a
migration. Each state says who sets it; the transitions themselves live in
:mod:`flowforge_admin.engine.transitions`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RunState(models.TextChoices):
    # Set by launch (and by re-run / retry of a finished run).
    QUEUED = "queued", _("queued")
    # Set by the worker that starts the run's first task.
    RUNNING = "running", _("running")
    # Set by the engine when every task run succeeded.
    SUCCEEDED = "succeeded", _("succeeded")
    # Set by the engine when nothing more can run and some task did not succeed.
    FAILED = "failed", _("failed")
    # Set by cancel_run.
    CANCELLED = "cancelled", _("cancelled")


class TaskState(models.TextChoices):
    # Set by launch: waiting for its upstream tasks (or, for a group, its start).
    PENDING = "pending", _("pending")
    # Set by the engine when its upstream succeeded and a message was enqueued.
    QUEUED = "queued", _("queued")
    # Set by the worker that claimed it (for a group: while its children run).
    RUNNING = "running", _("running")
    # Set by the worker when an attempt failed and another will follow after a delay.
    RETRYING = "retrying", _("retrying")
    # Set by the worker when a sensor's check found its condition not met yet, and by the
    # engine when an approval step's upstream is done: the task run holds no worker and no
    # pool slot. A timed message (engine/sensors.py) brings a sensor back to queued when its
    # next check is due; a person's decision (engine/approvals.py) finishes an approval step.
    WAITING = "waiting", _("waiting")
    # Set by the worker (or, for a group, by the engine) when it finished well.
    SUCCEEDED = "succeeded", _("succeeded")
    # Set by the worker after the last attempt failed, or by the lost-work check.
    FAILED = "failed", _("failed")
    # Set by the engine when a task it waits for did not succeed.
    UPSTREAM_FAILED = "upstream_failed", _("upstream failed")
    # Set by cancel_run.
    CANCELLED = "cancelled", _("cancelled")


RUN_FINISHED = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})
RUN_CANCELLABLE = frozenset({RunState.QUEUED, RunState.RUNNING})

TASK_FINISHED = frozenset(
    {TaskState.SUCCEEDED, TaskState.FAILED, TaskState.UPSTREAM_FAILED, TaskState.CANCELLED}
)
# Not finished: the run goes on while any task run is in one of these.
TASK_ACTIVE = frozenset(
    {TaskState.PENDING, TaskState.QUEUED, TaskState.RUNNING, TaskState.RETRYING, TaskState.WAITING}
)
# A task run holds its pool's slots in these (flowforge_admin.engine.pools). Not while
# waiting: like Airflow's reschedule-mode sensors, a waiting task gives its slot back and
# takes one again (or waits, pending, for one) when its next check is queued.
TASK_HOLDING_SLOTS = frozenset({TaskState.QUEUED, TaskState.RUNNING, TaskState.RETRYING})
# What a re-run of the failed part starts again.
TASK_RERUNNABLE = frozenset({TaskState.FAILED, TaskState.UPSTREAM_FAILED, TaskState.CANCELLED})


class AlertEvent(models.TextChoices):
    """What an alert (FlowAlert) may be sent on; raised after the change that caused it commits."""

    # Raised by the engine when a run finishes failed.
    RUN_FAILED = "run_failed", _("run failed")
    # Raised by the engine when a run finishes succeeded.
    RUN_SUCCEEDED = "run_succeeded", _("run succeeded")
    # Raised by the worker when a failed attempt is followed by another.
    TASK_RETRYING = "task_retrying", _("task retrying")
    # Raised by the engine when an approval step starts waiting for its approvers.
    TASK_WAITING = "task_waiting", _("task waiting for approval")
    # Raised by the lost-work check when an active run is older than the alert's sla_seconds.
    SLA_MISSED = "sla_missed", _("run longer than expected (SLA)")
    # Raised by a schedule's fire that launched nothing (paused, overlap) or left fires out (catch-up).
    SCHEDULE_SKIPPED = "schedule_skipped", _("schedule skipped a fire")


class DeliveryState(models.TextChoices):
    """The outcome of one alert delivery (AlertDelivery)."""

    # Set when the delivery is created, and kept while it waits for another attempt.
    PENDING = "pending", _("pending")
    # Set by the worker whose attempt got through.
    SENT = "sent", _("sent")
    # Set by the worker after the last attempt failed (or when the channel cannot work at all).
    FAILED = "failed", _("failed")
