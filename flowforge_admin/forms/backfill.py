"""The Backfill page's form: a span of time, and whether fires that already have a run get another.

The form only reads the dates; what the span holds (and whether it is too
much) is :func:`flowforge_admin.actions.backfill.plan_backfill`'s to say,
the same check ``manage.py backfill`` meets.
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DATE_ERROR = _("Enter a date, or a date and time, such as 2026-01-31 or 2026-01-31 06:00.")


def _date_field(label, help_text):
    return forms.DateTimeField(
        label=label,
        widget=forms.TextInput(attrs={"class": "vTextField", "placeholder": "2026-01-31 06:00"}),
        help_text=help_text,
        error_messages={"invalid": DATE_ERROR},
    )


class BackfillForm(forms.Form):
    """Start and end (both included, in the current time zone unless an offset is written) and re-run."""

    start = _date_field(_("From"), _("The first fire time to run, included (%(zone)s)."))
    end = _date_field(_("To"), _("The last fire time to run, included, not in the future (%(zone)s)."))
    rerun_existing = forms.BooleanField(
        label=_("Re-run existing"),
        required=False,
        help_text=_("Give a new run to fires that already have one. Off: they are skipped."),
    )

    class Media:
        css = {"all": ["flowforge_admin/css/flows.css"]}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        for name in ("start", "end"):
            self.fields[name].help_text = self.fields[name].help_text % {"zone": zone}
