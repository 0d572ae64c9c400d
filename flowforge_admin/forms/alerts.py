"""The admin's form of a flow's alert: the events as checkboxes; the rules are the model's (definitions.alerts)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import FlowAlert
from ..states import AlertEvent


class FlowAlertForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=AlertEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the alert is sent on."),
    )
    webhook_url = forms.URLField(
        label=_("webhook URL"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=FlowAlert._meta.get_field("webhook_url").help_text,
    )

    class Meta:
        model = FlowAlert
        fields = [
            "name",
            "enabled",
            "events",
            "sla_seconds",
            "channel",
            "addresses",
            "users",
            "groups",
            "webhook_url",
            "secret",
            "text",
            "callable_path",
        ]
        widgets = {"addresses": forms.Textarea(attrs={"rows": 2, "cols": 60})}
