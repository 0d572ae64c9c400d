"""Run records: written by the engine only (flowforge_admin.engine), read everywhere."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..states import RUN_CANCELLABLE, RUN_FINISHED, TASK_FINISHED, RunState, TaskState
from .flows import Flow


def count_field(state):
    return f"{state}_count"


class FlowRun(models.Model):
    """One execution of a flow, with a frozen copy of its definition."""

    class Trigger(models.TextChoices):
        USER = "user", _("user")
        SCHEDULE = "schedule", _("schedule")
        CODE = "code", _("code")
        BACKFILL = "backfill", _("backfill")

    # Runs outlive their flow: the snapshot (RunSnapshot) is what they run and draw.
    flow = models.ForeignKey(
        Flow, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs", verbose_name=_("flow")
    )
    flow_name = models.CharField(_("flow name"), max_length=100, db_index=True)
    flow_version = models.PositiveIntegerField(_("flow version"))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RunState.choices, default=RunState.QUEUED)
    triggered_by = models.CharField(
        _("triggered by"), max_length=10, choices=Trigger.choices, default=Trigger.CODE
    )
    triggered_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("triggered by user"),
    )
    schedule = models.ForeignKey(
        # A string: models/schedules.py imports this module (FlowSchedule.last_run).
        "flowforge_admin.FlowSchedule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name=_("schedule"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The moment of data the run is for (Airflow's logical date): the launch
    # moment unless given; a schedule's run gets the fire time it stands for.
    # db_default: the previous release's code, still running during an upgrade, inserts runs without it.
    logical_date = models.DateTimeField(_("logical date"), default=timezone.now, db_default=Now())
    data_interval_start = models.DateTimeField(_("data interval start"), null=True, blank=True)
    data_interval_end = models.DateTimeField(_("data interval end"), null=True, blank=True)
    # A queued run waiting for a place under its flow's max_active_runs: none of
    # its tasks is queued yet (flowforge_admin.engine.admission starts it).
    held = models.BooleanField(_("waiting for a place"), default=False, db_default=False)
    # Task runs by status, kept in the same transactions as the task runs
    # themselves, so that lists never count task rows.
    pending_count = models.PositiveIntegerField(default=0)
    queued_count = models.PositiveIntegerField(default=0)
    running_count = models.PositiveIntegerField(default=0)
    retrying_count = models.PositiveIntegerField(default=0)
    waiting_count = models.PositiveIntegerField(default=0, db_default=0)
    succeeded_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    upstream_failed_count = models.PositiveIntegerField(default=0)
    cancelled_count = models.PositiveIntegerField(default=0)
    # Counts up once for every change of its task runs (transitions.changing
    # and worker.claim, under the run's lock): the run page asks for the task
    # runs changed after the revision it has shown.
    revision = models.PositiveBigIntegerField(_("revision"), default=0, db_default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("flow run")
        verbose_name_plural = _("flow runs")
        permissions = [("cancel_run", _("Can cancel, retry, re-run and mark runs"))]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="flowforge_run_status_created"),
            models.Index(fields=["flow", "-created_at"], name="flowforge_run_flow_created"),
            models.Index(fields=["triggered_by", "-created_at"], name="flowforge_run_trigger_created"),
            models.Index(fields=["flow", "-logical_date"], name="flowforge_run_flow_logical"),
            models.Index(fields=["logical_date"], name="flowforge_run_logical_date"),
            # The runs waiting for a place under max_active_runs, in launch order.
            models.Index(
                fields=["flow", "created_at", "id"], condition=Q(held=True), name="flowforge_run_held"
            ),
        ]

    def __str__(self):
        return f"{self.flow_name} #{self.pk}"

    def get_absolute_url(self):
        return reverse("admin:flowforge_admin_flowrun_change", args=[self.pk])

    @property
    def snapshot(self):
        """The definition this run executes, as JSON (kept in its own table: see RunSnapshot)."""
        return self.definition.data

    @property
    def is_finished(self):
        return self.status in RUN_FINISHED

    @property
    def is_cancelable(self):
        return self.status in RUN_CANCELLABLE

    @staticmethod
    def active_count(flow_id):
        """How many runs of the flow count against its max_active_runs: queued or running, not held."""
        return FlowRun.objects.filter(flow_id=flow_id, status__in=RUN_CANCELLABLE, held=False).count()

    def wait_reason(self):
        """Why a held run waits: "waiting: 2 of 2 active runs" (its flow's max_active_runs)."""
        limit = self.flow.max_active_runs if self.flow_id else None
        active = FlowRun.active_count(self.flow_id) if self.flow_id else 0
        if limit is None:
            return f"waiting: the flow has no limit now ({active} active runs); it starts at the next check"
        return f"waiting: {active} of {limit} active runs"

    def task_counts(self):
        """Return {task status: number of task runs} from the kept counters."""
        return {state: getattr(self, count_field(state)) for state in TaskState.values}


class RunSnapshot(models.Model):
    """The frozen definition a run executes, written once at launch, kept out of the run's own row.

    The run's row is written with every task (its counters). SQLite rewrites
    a row whole, overflow pages included, whenever its size changes (a
    counter going from 1 to 2 does): with a 1 000-task definition (170 kB) in
    it, every claim and every result wrote 170 kB and held the database's one
    write lock for half a millisecond (bench/README.md).
    """

    run = models.OneToOneField(
        FlowRun, on_delete=models.CASCADE, primary_key=True, related_name="definition", verbose_name=_("run")
    )
    data = models.JSONField(_("definition snapshot"))

    class Meta:
        verbose_name = _("run snapshot")
        verbose_name_plural = _("run snapshots")

    def __str__(self):
        return f"snapshot of run {self.run_id}"


class TaskRun(models.Model):
    """One task of a run (groups included): its current attempt and result."""

    run = models.ForeignKey(
        FlowRun, on_delete=models.CASCADE, related_name="task_runs", verbose_name=_("run")
    )
    # A mapped task's instance is named "<task>[<map_index>]" (names cannot hold brackets), so
    # that the engine's one lookup of a task run, by run and name, finds instances too.
    task_name = models.CharField(_("task"), max_length=120)
    # Set on a mapped task's instances only (0..n-1); the mapped task's own row
    # (its "parent", whose status sums its instances up) has none.
    map_index = models.PositiveIntegerField(_("map index"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=TaskState.choices, default=TaskState.PENDING
    )
    attempt = models.PositiveIntegerField(_("attempt"), default=0, help_text=_("0 until the first attempt."))
    max_attempts = models.PositiveIntegerField(_("attempts allowed"), default=1)
    lost_attempts = models.PositiveIntegerField(
        _("attempts lost"),
        default=0,
        help_text=_("Attempts whose worker died; they do not count as failures."),
    )
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    # The process that claimed the current attempt, "<host>:<pid>:<start>" (engine/process.py):
    # a worker that starts hands on the running attempts of its host's dead ones
    # (engine/watchdog.py). Read only while running: after that, who ran the last attempt.
    worker = models.CharField(_("worker"), max_length=255, null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    output = models.JSONField(_("output"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)
    # The run's revision when this task run last changed (see FlowRun.revision).
    revision = models.PositiveBigIntegerField(_("revision"), default=0, db_default=0)
    # Copied from its task at launch, so that the slots a pool has in use are
    # one indexed count (flowforge_admin.engine.pools). "" is the default pool.
    pool = models.CharField(_("pool"), max_length=100, blank=True, default="", db_default="")
    pool_slots = models.PositiveIntegerField(_("pool slots"), default=1, db_default=1)
    # Set while it is pending because its pool was full: it starts when a slot frees.
    pool_waiting_since = models.DateTimeField(_("waiting for its pool since"), null=True, blank=True)
    # A sensor's checks this round and when the first one ended (its timeout counts from
    # there); a clear, re-run or retry starts them again. While it is waiting, its next
    # check is due at next_attempt_at.
    checks = models.PositiveIntegerField(_("checks"), default=0, db_default=0)
    wait_started_at = models.DateTimeField(_("waiting since"), null=True, blank=True)
    # An approval step's approvers, set when it starts waiting for them (engine/approvals.py):
    # a Django group's name, or "" for those with the approve_task permission. None: no
    # approval step. Copied from the snapshot so that "waiting for me" is one indexed query.
    approval_group = models.CharField(_("approvers"), max_length=150, null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        verbose_name = _("task run")
        verbose_name_plural = _("task runs")
        permissions = [("approve_task", _("Can approve or reject approval steps that name no group"))]
        constraints = [
            models.UniqueConstraint(fields=["run", "task_name"], name="flowforge_taskrun_unique_task_in_run")
        ]
        indexes = [
            # The task run list's status filter, newest first.
            models.Index(fields=["status", "-id"], name="flowforge_taskrun_status"),
            # The lost-work check (stale heartbeats, old queued messages, due
            # retries) and the health check's oldest queued task. Partial: each
            # holds only the task runs in its status, so most status changes
            # leave it alone and it stays small however many runs finished.
            # (The status leads anyway, so that a planner without statistics
            # prefers them to the one above.)
            models.Index(
                fields=["status", "heartbeat_at"],
                condition=Q(status=TaskState.RUNNING),
                name="flowforge_taskrun_heartbeat",
            ),
            models.Index(
                fields=["status", "queued_at"],
                condition=Q(status=TaskState.QUEUED),
                name="flowforge_taskrun_queued",
            ),
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status=TaskState.RETRYING),
                name="flowforge_taskrun_next_try",
            ),
            # The lost-work check's backstop for a waiting task whose timed message was lost.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status=TaskState.WAITING),
                name="flowforge_taskrun_next_check",
            ),
            # A run's queued task runs, newest first: what a worker that just
            # recorded a result may take along (RunChange._take_queued). Small:
            # it holds only queued rows, and a status change of one leaves it alone
            # unless it enters or leaves queued.
            models.Index(
                fields=["run", "queued_at", "id"],
                condition=Q(status=TaskState.QUEUED),
                name="flowforge_taskrun_run_queued",
            ),
            # The slots a pool has in use: its task runs that hold one.
            models.Index(
                fields=["pool"],
                condition=Q(status__in=[TaskState.QUEUED, TaskState.RUNNING, TaskState.RETRYING]),
                name="flowforge_taskrun_pool_use",
            ),
            # The approval steps waiting for a decision, by their approvers ("waiting for me").
            models.Index(
                fields=["approval_group", "wait_started_at"],
                condition=Q(status=TaskState.WAITING, approval_group__isnull=False),
                name="flowforge_taskrun_approvals",
            ),
            # What waits for a pool, oldest first.
            models.Index(
                fields=["pool", "pool_waiting_since"],
                condition=Q(pool_waiting_since__isnull=False),
                name="flowforge_taskrun_pool_wait",
            ),
        ]

    def __str__(self):
        return f"{self.task_name} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in TASK_FINISHED


class Approval(TaskRun):
    """An approval step's task run, as its approvers see it: the admin's "Waiting for me" list."""

    class Meta:
        proxy = True
        verbose_name = _("approval")
        verbose_name_plural = _("waiting for me")


class TaskLog(models.Model):
    """One line a task logged or printed, kept per attempt."""

    task_run = models.ForeignKey(
        TaskRun, on_delete=models.CASCADE, related_name="logs", verbose_name=_("task run")
    )
    attempt = models.PositiveIntegerField(_("attempt"))
    logged_at = models.DateTimeField(_("time"))
    level = models.PositiveSmallIntegerField(_("level"))
    source = models.CharField(
        _("source"), max_length=100, blank=True, help_text=_("Logger name, stdout or stderr.")
    )
    message = models.TextField(_("message"))

    class Meta:
        ordering = ["task_run", "attempt", "id"]
        verbose_name = _("log line")
        verbose_name_plural = _("log lines")
        indexes = [models.Index(fields=["task_run", "attempt", "id"], name="flowforge_log_by_attempt")]

    def __str__(self):
        return self.message[:80]


class TaskAttempt(models.Model):
    """The outcome of one attempt of a task run that a later attempt replaced.

    The task run holds its current attempt's outcome; when a new attempt
    takes over (a retry after a failure, a lost worker, a re-run, a retry,
    a mark or a clear), the engine first copies the outgoing one here, in the
    same transaction (:mod:`flowforge_admin.engine.attempts`), with its
    artifact, if it made one (``Artifact.task_attempt``). Together with the
    log lines kept per attempt, an earlier attempt stays readable. A first
    attempt that succeeds and is never replaced writes none.
    """

    task_run = models.ForeignKey(
        TaskRun, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("task run")
    )
    attempt = models.PositiveIntegerField(_("attempt"))
    # A task state: the attempt's own outcome. An attempt replaced while it
    # was queued or running was discarded (cancelled); one replaced while its
    # retry was due had failed.
    status = models.CharField(_("status"), max_length=20, choices=TaskState.choices)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    output = models.JSONField(_("output"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)

    class Meta:
        ordering = ["task_run", "attempt"]
        verbose_name = _("earlier attempt")
        verbose_name_plural = _("earlier attempts")
        constraints = [
            models.UniqueConstraint(fields=["task_run", "attempt"], name="flowforge_attempt_unique")
        ]

    def __str__(self):
        return f"attempt {self.attempt} of task run {self.task_run_id} ({self.get_status_display()})"
