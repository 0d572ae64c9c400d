"""The admin form of a flow schedule, and the words that describe when it fires."""

from cron_descriptor import ExpressionDescriptor, FormatException, Options
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ..conf import get_setting
from ..definitions.params import check_run_params
from ..models import Flow, FlowSchedule
from ..models.schedules import DEFINITION_FIELDS, WEEKDAYS, cron_problem
from .fields import JSONTextField


def describe(schedule):
    """Say when ``schedule`` fires, for people: "every day at 02:00 UTC"."""
    kind = FlowSchedule.Kind
    at = schedule.at_time.strftime("%H:%M") if schedule.at_time else "00:00"
    if schedule.kind == kind.MINUTES:
        every = schedule.every_minutes or 1
        return "every minute" if every == 1 else f"every {every} minutes"
    if schedule.kind == kind.HOURLY:
        return f"every hour at :{schedule.at_time.minute:02d}"
    if schedule.kind == kind.DAILY:
        return f"every day at {at} UTC"
    if schedule.kind == kind.WEEKLY:
        return f"every {dict(WEEKDAYS).get(schedule.weekday, '?')} at {at} UTC"
    if schedule.kind == kind.MONTHLY:
        return f"on day {schedule.day_of_month} of every month at {at} UTC"
    if schedule.kind == kind.ONCE:
        if schedule.run_at is None:
            return "once (no time set)"
        return f"once, at {date_format(timezone.localtime(schedule.run_at), 'Y-m-d H:i')} UTC"
    return describe_cron(schedule.cron)


def describe_cron(expression):
    """A cron expression in words (cron-descriptor), with its time zone; or why it never fires.

    cron-descriptor puts ``0 0 31 2 *`` into words as if it fired; the
    schedule's own check says first whether it does.
    """
    problem = cron_problem(expression or "")
    if problem:
        return f"never: {problem}"
    options = Options()
    options.use_24hour_time_format = True
    try:
        return f"{ExpressionDescriptor(expression, options).get_description()} (UTC)"
    except FormatException:
        return f"cron {expression!r}"


class FlowScheduleForm(forms.ModelForm):
    """Add or change a schedule; its parameters meet the same check as a launch."""

    class Meta:
        model = FlowSchedule
        fields = ["flow", *DEFINITION_FIELDS]
        widgets = {"kind": forms.RadioSelect}
        field_classes = {"params": JSONTextField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "catchup" in self.fields:
            # The limit is a setting: say the one in force.
            self.fields["catchup"].help_text = _(
                "When fires were missed (no worker ran while they were due): on, each missed fire gets its "
                "own run, oldest first, up to %(limit)d (FLOWFORGE_CATCHUP_MAX_RUNS; older ones are skipped "
                "and the last fire says so); off, only the latest missed fire gets a run."
            ) % {"limit": get_setting("FLOWFORGE_CATCHUP_MAX_RUNS")}

    def clean_params(self):
        params = self.cleaned_data.get("params")
        return {} if params in (None, "") else params

    def clean_run_at(self):
        run_at = self.cleaned_data.get("run_at")
        changed = "run_at" in self.changed_data or "kind" in self.changed_data
        if run_at is not None and changed and run_at <= timezone.now():
            raise ValidationError("This time has passed: give a time to come.", code="past")
        return run_at

    def clean(self):
        cleaned_data = super().clean()
        flow = cleaned_data.get("flow") or (self.instance.flow if self.instance.flow_id else None)
        params = cleaned_data.get("params")
        if isinstance(flow, Flow) and "params" not in self.errors:
            try:
                check_run_params(flow, params)
            except ValidationError as error:
                self.add_error("params", error)
        return cleaned_data
