"""A run's own history: the changes people and code asked for (launch, cancel, retry ...).

Django's admin log (``LogEntry``) needs a user, so a change made with none (a
schedule's fire, code, a command without ``--user``) would leave no trace
there. Every action on a run (:mod:`flowforge_admin.actions.runs`) writes a
RunEvent, with its user when there is one. What the engine does on its own
(a task succeeding, a retry coming due) is not an event: the task runs show it.
"""

import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .runs import FlowRun


class RunEvent(models.Model):
    """One change asked of a run, by whom (if anyone) and when, in the words of the admin log."""

    class Action(models.TextChoices):
        LAUNCH = "launch", _("launch")
        CANCEL = "cancel", _("cancel")
        RERUN_FAILED = "rerun_failed", _("re-run failed")
        RETRY_TASK = "retry_task", _("retry task")
        MARK_TASK = "mark_task", _("mark task")
        CLEAR_TASKS = "clear_tasks", _("clear tasks")
        APPROVE = "approve", _("approve")
        REJECT = "reject", _("reject")
        DOWNLOAD_ARTIFACT = "download_artifact", _("download artifact")

    run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="events", verbose_name=_("run"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    message = models.TextField(_("message"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("run event")
        verbose_name_plural = _("run events")
        indexes = [models.Index(fields=["run", "created_at"], name="flowforge_runevent_run_time")]

    def __str__(self):
        return self.message[:80]


def launch_message(how, params):
    """The words of a launch in the run's history and the admin log: "<how> with parameters {...}."."""
    return f"{how} with parameters {json.dumps(params, sort_keys=True)}."
