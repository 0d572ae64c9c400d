"""The form that makes an API token: a name and an optional expiry.

Only these two are asked: the token's user is whoever fills the form in
(never chosen), and the token itself is made by
:class:`~flowforge_admin.actions.tokens.IssueTokenAction`.
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import get_setting
from ..models import ApiToken
from ..models.tokens import validate_expiry


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        expires_at = self.fields.get("expires_at")
        if expires_at is None:
            return
        # The admin reads the date and time in the current time zone: name it.
        zone = timezone.get_current_timezone_name()
        max_days = get_setting("FLOWFORGE_API_TOKEN_MAX_DAYS")
        if max_days is None:
            expires_at.help_text = _("%(zone)s. Leave empty for a token that does not expire.") % {
                "zone": zone
            }
        else:
            expires_at.required = True
            expires_at.help_text = _("%(zone)s; at most %(days)s days from now.") % {
                "zone": zone,
                "days": max_days,
            }

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        validate_expiry(expires_at)
        return expires_at
