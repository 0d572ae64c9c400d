"""Alerts: what a flow tells whom when its runs fail, succeed, retry, run late or a schedule skips.

A :class:`FlowAlert` belongs to a flow (made in the admin's inline, or by
``register_task_pipeline(alerts=...)``); an :class:`AlertDelivery` records one
sending of it for one run (or one skipped schedule fire) and its outcome.
Deliveries belong to their run (``on_delete=CASCADE``): purging a run purges
its alert records with it. They outlive their alert (``SET_NULL``), so the run
page still says what was sent.

The rules of what an alert may hold live in
:mod:`flowforge_admin.definitions.alerts`, shared with registration from code.
"""

import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..states import AlertEvent, DeliveryState
from .flows import Flow
from .runs import FlowRun, TaskRun


def new_secret():
    """A webhook secret: 32 random bytes, hex."""
    return secrets.token_hex(32)


class FlowAlert(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        WEBHOOK = "webhook", _("webhook")
        CALLABLE = "callable", _("Python callable")

    class Origin(models.TextChoices):
        CODE = "code", _("code")  # register_task_pipeline(alerts=...): replaced at every registration
        ADMIN = "admin", _("admin")  # made in the flow's page; registration leaves it alone

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("flow"))
    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    events = models.JSONField(
        _("events"), default=list, help_text=_("What the alert is sent on (one or more events).")
    )
    sla_seconds = models.PositiveIntegerField(
        _("SLA (seconds)"),
        null=True,
        blank=True,
        help_text=_("With the SLA event: a run still active this long after its launch is late."),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="flowforge_alerts",
        verbose_name=_("users"),
        help_text=_("E-mail: these users' addresses."),
    )
    groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="flowforge_alerts",
        verbose_name=_("groups"),
        help_text=_("E-mail: the addresses of every active user of these groups."),
    )
    addresses = models.TextField(
        _("addresses"), blank=True, help_text=_("E-mail: more addresses, separated by commas or lines.")
    )
    webhook_url = models.URLField(
        _("webhook URL"), max_length=500, blank=True, help_text=_("Webhook: an http or https URL.")
    )
    secret = models.CharField(
        _("secret"),
        max_length=128,
        blank=True,
        help_text=_(
            "Webhook: the key of the X-Flowforge-Signature header (HMAC-SHA256 of the body). "
            "Empty: one is made when saved."
        ),
    )
    text = models.CharField(
        _("text"),
        max_length=300,
        blank=True,
        help_text=_("Webhook: put before the summary in the Slack-compatible 'text' field (a mention, say)."),
    )
    callable_path = models.CharField(
        _("callable"),
        max_length=300,
        blank=True,
        help_text=_("Python callable: dotted path of a function allowed as a task function."),
    )
    origin = models.CharField(
        _("defined in"), max_length=10, choices=Origin.choices, default=Origin.ADMIN, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["flow", "name", "id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            # The lost-work check's SLA look: enabled alerts with an SLA.
            models.Index(
                fields=["flow"],
                condition=Q(enabled=True, sla_seconds__isnull=False),
                name="flowforge_alert_sla",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.channel == self.Channel.WEBHOOK and not self.secret:
            self.secret = new_secret()
        super().save(*args, **kwargs)

    def clean(self):
        """Check the alert with the rules registration uses (definitions.alerts)."""
        from ..definitions import alerts as rules  # models import no definitions at module level

        errors = {}
        for field, message in rules.field_problems(
            events=self.events,
            sla_seconds=self.sla_seconds,
            channel=self.channel,
            addresses=self.addresses,
            webhook_url=self.webhook_url,
            callable_path=self.callable_path,
        ):
            errors.setdefault(field, []).append(message)
        if errors:
            raise ValidationError(errors)

    def address_list(self):
        """The addresses typed in ``addresses``, in order."""
        from ..definitions.alerts import split_addresses

        return split_addresses(self.addresses)

    def target(self):
        """Where the alert goes, in words (for lists and the delivery record)."""
        if self.channel == self.Channel.WEBHOOK:
            return self.webhook_url
        if self.channel == self.Channel.CALLABLE:
            return self.callable_path
        return ", ".join(self.address_list()) or _("users and groups")


class AlertDelivery(models.Model):
    """One sending of an alert for one run (or one skipped schedule fire), with its outcome."""

    alert = models.ForeignKey(
        FlowAlert,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("alert"),
    )
    # Empty only for a schedule's skipped fire, which has no run.
    run = models.ForeignKey(
        FlowRun,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_deliveries",
        verbose_name=_("run"),
    )
    task_run = models.ForeignKey(
        TaskRun,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_deliveries",
        verbose_name=_("task run"),
    )
    schedule = models.ForeignKey(
        "flowforge_admin.FlowSchedule",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_deliveries",
        verbose_name=_("schedule"),
    )
    flow_name = models.CharField(_("flow"), max_length=100)
    event = models.CharField(_("event"), max_length=20, choices=AlertEvent.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=FlowAlert.Channel.choices)
    target = models.CharField(_("sent to"), max_length=500, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    response_code = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        indexes = [
            # The run page's section, and the admin list's filters.
            models.Index(fields=["run", "created_at"], name="flowforge_delivery_run"),
            models.Index(fields=["status", "-created_at"], name="flowforge_delivery_status"),
            models.Index(fields=["event", "-created_at"], name="flowforge_delivery_event"),
        ]
        constraints = [
            # An SLA is missed once per run and alert, however many checks see it.
            models.UniqueConstraint(
                fields=["alert", "run"], condition=Q(event="sla_missed"), name="flowforge_delivery_sla_once"
            ),
        ]

    def __str__(self):
        return f"{self.get_event_display()} → {self.get_channel_display()} ({self.status})"
