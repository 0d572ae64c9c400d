"""Alerts in the admin: the "Alerts" inline of the flow page, and the list of deliveries.

Editors add, change and delete alerts (``flowforge_admin.change_flowalert``);
stakeholders and operators see them read-only, without the webhook secret
(whoever holds it can sign messages as Flow Forge). Deliveries are records:
nobody adds or edits them.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..forms.alerts import FlowAlertForm
from ..models import AlertDelivery, FlowAlert
from ..states import AlertEvent
from ..templatetags.flowforge import status_badge


class FlowAlertInline(admin.StackedInline):
    model = FlowAlert
    form = FlowAlertForm
    extra = 0
    classes = ["ff-alerts"]
    verbose_name_plural = _("Alerts")
    readonly_fields = ["origin", "event_labels"]
    fieldsets = [
        (None, {"fields": [("name", "enabled", "origin"), "events", "sla_seconds", "channel"]}),
        # The classes let js/alerts.js show only the chosen channel's section.
        (_("E-mail"), {"fields": ["addresses", "users", "groups"], "classes": ["ff-alert-email"]}),
        (_("Webhook"), {"fields": ["webhook_url", "secret", "text"], "classes": ["ff-alert-webhook"]}),
        (_("Python callable"), {"fields": ["callable_path"], "classes": ["ff-alert-callable"]}),
    ]

    class Media:
        js = ["flowforge_admin/js/alerts.js"]

    def get_fieldsets(self, request, obj=None):
        """The fieldsets; for those who may not change alerts, without the secret and with the events in words."""
        if self.has_change_permission(request, obj):
            return self.fieldsets
        shown = {"secret": None, "events": "event_labels"}
        return [
            (
                title,
                {
                    **options,
                    "fields": [
                        shown.get(field, field) for field in options["fields"] if shown.get(field, field)
                    ],
                },
            )
            for title, options in self.fieldsets
        ]

    @admin.display(description=_("Events"))
    def event_labels(self, alert):
        labels = dict(AlertEvent.choices)
        return ", ".join(str(labels.get(event, event)) for event in alert.events) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("users", "groups")


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "flow_name",
        "run_link",
        "event",
        "channel",
        "badge",
        "attempts",
        "response_code",
    ]
    list_filter = ["status", "event", "channel"]
    search_fields = ["flow_name", "target", "last_error"]
    readonly_fields = [field.name for field in AlertDelivery._meta.fields]

    @admin.display(description=_("status"), ordering="status")
    def badge(self, delivery):
        return status_badge(delivery.status)

    @admin.display(description=_("run"), ordering="run")
    def run_link(self, delivery):
        if not delivery.run_id:
            return "—"
        url = reverse("admin:flowforge_admin_flowrun_change", args=[delivery.run_id])
        return format_html('<a href="{}">#{}</a>', url, delivery.run_id)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
