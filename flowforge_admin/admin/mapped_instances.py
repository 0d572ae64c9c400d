"""A mapped task's instances as the run page shows them: one summary per task, whatever their number."""

from urllib.parse import urlencode

from django.db.models import Count, Value
from django.db.models.functions import Left, StrIndex
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import TaskRun


def counts(run_id, names):
    """Return {mapped task: {status: number of its instances}} of ``names`` (one query, however many)."""
    counts = {}
    rows = (
        TaskRun.objects.filter(run_id=run_id, map_index__isnull=False)
        # An instance is named "<task>[<index>]": its task is the name before the bracket.
        .annotate(mapped_task=Left("task_name", StrIndex("task_name", Value("[")) - 1))
        .filter(mapped_task__in=list(names))
        .values_list("mapped_task", "status")
        .annotate(number=Count("id"))
        .order_by()
    )
    for task, status, number in rows:
        counts.setdefault(task, {})[status] = number
    return counts


def instances_url(run_id, name):
    """The task run list filtered to the instances of mapped task ``name`` (paged by the admin)."""
    query = urlencode({"run__exact": run_id, "task_name__startswith": f"{name}["})
    return f"{reverse('admin:flowforge_admin_taskrun_changelist')}?{query}"


def summaries(run_id, names):
    """Return {mapped task: {"instances": summary, "instances_url": list of them}} (one query)."""
    found_counts = counts(run_id, names)
    found = {}
    for name in names:
        by_status = found_counts.get(name, {})
        total = sum(by_status.values())
        text = ngettext("%(count)d instance", "%(count)d instances", total) % {"count": total}
        if by_status:
            text += ": " + ", ".join(f"{number} {_(status)}" for status, number in sorted(by_status.items()))
        found[name] = {"instances": text, "instances_url": instances_url(run_id, name) if total else ""}
    return found
