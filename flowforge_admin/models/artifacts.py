"""What tasks produce besides their status: artifacts (outputs that are not JSON), metrics and tags.

Written by the engine's workers only (:mod:`flowforge_admin.artifacts`,
:mod:`flowforge_admin.engine.worker`), read by the admin. The web process
reads an artifact's row (type, size, preview) and may stream its file, but
never loads it: the preview was made by the worker that stored the value.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .runs import FlowRun, TaskAttempt, TaskRun


class Artifact(models.Model):
    """A task run's output stored as a file in the artifact store, signed, with its preview.

    Exactly one of ``task_run`` and ``task_attempt`` is set. ``task_run``:
    the output of the task run's current attempt (``task_run.artifact``; at
    most one). When a new attempt replaces it, the row moves to the earlier
    attempt's record (``task_attempt``, so ``task_attempt.artifact``) and its
    file stays, downloadable. Deleting the run deletes its task runs, their
    attempt records and every artifact row of both; each row deleted removes
    its file after the commit (:mod:`flowforge_admin.artifacts.receivers`).
    """

    task_run = models.OneToOneField(
        TaskRun,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="artifact",
        verbose_name=_("task run"),
    )
    task_attempt = models.OneToOneField(
        TaskAttempt,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="artifact",
        verbose_name=_("earlier attempt"),
    )
    attempt = models.PositiveIntegerField(_("attempt"))
    # The file's name in the artifact store (Django's storage API).
    path = models.CharField(_("file"), max_length=255)
    serializer = models.CharField(_("serializer"), max_length=50, help_text=_("How the value was written."))
    type_name = models.CharField(_("type"), max_length=200, help_text=_("The Python type of the value."))
    size = models.PositiveBigIntegerField(_("size"), help_text=_("Bytes in the store."))
    # HMAC-SHA256 of the file's bytes, with a key derived from SECRET_KEY: a
    # worker loads the file only if it still matches. Equal values written by
    # the same serializer have equal signatures (runs are compared by it).
    signature = models.CharField(_("signature"), max_length=64)
    # Made by the worker from the value itself: {"kind": "array" | "dataframe" | "sequence" | "repr", ...}.
    preview = models.JSONField(_("preview"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("artifact")
        verbose_name_plural = _("artifacts")
        constraints = [
            models.CheckConstraint(
                condition=Q(task_run__isnull=False, task_attempt__isnull=True)
                | Q(task_run__isnull=True, task_attempt__isnull=False),
                name="flowforge_artifact_one_owner",
            )
        ]

    def __str__(self):
        if self.task_run_id is None:
            return f"{self.type_name} of earlier attempt {self.attempt} ({self.task_attempt_id})"
        return f"{self.type_name} of task run {self.task_run_id}"


class Metric(models.Model):
    """One number a task logged (``context.log_metric``), maybe at a step (an epoch, an iteration)."""

    run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="metrics", verbose_name=_("run"))
    task_run = models.ForeignKey(
        TaskRun, on_delete=models.CASCADE, related_name="metrics", verbose_name=_("task run")
    )
    attempt = models.PositiveIntegerField(_("attempt"))
    name = models.CharField(_("name"), max_length=100)
    # None stands for NaN (SQLite cannot store it); infinities are kept.
    value = models.FloatField(_("value"), null=True, blank=True)
    step = models.BigIntegerField(_("step"), null=True, blank=True)
    logged_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["run", "name", "step", "id"]
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")
        indexes = [models.Index(fields=["run", "name", "id"], name="flowforge_metric_run_name")]

    def __str__(self):
        return f"{self.name}={self.value}"


class Tag(models.Model):
    """A label a task set on its run (``context.set_tag``), for example the algorithm it used."""

    run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="tags", verbose_name=_("run"))
    task_run = models.ForeignKey(
        TaskRun, on_delete=models.CASCADE, related_name="tags", verbose_name=_("task run")
    )
    key = models.CharField(_("key"), max_length=100)
    value = models.CharField(_("value"), max_length=500)

    class Meta:
        ordering = ["run", "key", "id"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["task_run", "key"], name="flowforge_tag_unique_key")]
        indexes = [models.Index(fields=["run", "key"], name="flowforge_tag_run_key")]

    def __str__(self):
        return f"{self.key}={self.value}"
