"""Template helpers shared by every Flow Forge admin page."""

import re

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from ..actions.approvals import waiting_for
from ..admin.date_hierarchy import quick_date_hierarchy
from ..forms.schedules import describe
from ..states import RunState, TaskState

register = template.Library()

LABELS = {**dict(TaskState.choices), **dict(RunState.choices)}


@register.filter
def status_badge(status):
    """Render a run or task status as a coloured badge with its label (one vocabulary everywhere)."""
    if not status:
        return "—"
    return format_html('<span class="ff-status ff-status-{}">{}</span>', status, LABELS.get(status, status))


@register.filter
def local_datetime(moment, fmt="Y-m-d H:i"):
    """A time in the admin's zone that may wrap between date and time, never inside the date."""
    day, _, time = date_format(localtime(moment), fmt).partition(" ")
    return format_html('<span class="ff-unbroken">{}</span> <span class="ff-unbroken">{}</span>', day, time)


_BREAKS = re.compile(r"(?<=[_.])")


@register.filter
def breakable(name):
    """A machine name or dotted path that may wrap after its underscores and dots (a narrow column stays readable)."""
    return mark_safe(
        "".join(escape(part) + ("<wbr>" if part[-1:] in "_." else "") for part in _BREAKS.split(str(name)))
    )


@register.filter
def duration(seconds):
    """Format a number of seconds as 35ms, 0.4s, 12s, 3m 05s or 2h 03m."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.filter
def human_bytes(size):
    """Format a number of bytes as 512 bytes, 3.1 KB or 7.6 MB (powers of 1 024, as Django's filesizeformat)."""
    if size is None:
        return "—"
    return filesizeformat(size).replace("\xa0", " ")


@register.filter
def schedule_description(schedule):
    """When a flow schedule fires, in words ("every day at 02:00 UTC")."""
    return describe(schedule)


@register.inclusion_tag("admin/date_hierarchy.html")
def run_date_hierarchy(cl):
    """Django's date drill-down, from the list's first and last date (see date_hierarchy.py)."""
    return quick_date_hierarchy(cl)


@register.inclusion_tag("admin/flowforge_admin/approval/_waiting_note.html", takes_context=True)
def waiting_for_me(context):
    """A note with the number of approval steps waiting for the user's decision (one count query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    count = waiting_for(user).count() if user is not None and user.is_authenticated else 0
    return {"count": count}
