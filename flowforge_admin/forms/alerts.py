"""The admin's form of a flow's alert: the events as checkboxes; the rules are the model's (definitions.alerts)."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from ..models import FlowAlert
from ..states import AlertEvent


class FlowAlertForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=AlertEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the alert is sent on."),
    )
    # Declared, so the admin adds no "+" (adding a user or a group belongs elsewhere); short lists.
    users = forms.ModelMultipleChoiceField(
        label=_("Users"),
        queryset=get_user_model().objects.filter(is_active=True).order_by(get_user_model().USERNAME_FIELD),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=FlowAlert._meta.get_field("users").help_text,
    )
    groups = forms.ModelMultipleChoiceField(
        label=_("Groups"),
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=FlowAlert._meta.get_field("groups").help_text,
    )
    webhook_url = forms.URLField(
        label=_("Webhook URL"),
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
