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


def instances(run_id, name):
    """The task runs of mapped task ``name``'s instances (a queryset)."""
    return TaskRun.objects.filter(run_id=run_id, map_index__isnull=False, task_name__startswith=f"{name}[")


def instances_url(run_id, name):
    """The task run list filtered to the instances of mapped task ``name`` (paged by the admin)."""
    query = urlencode({"run__exact": run_id, "task_name__startswith": f"{name}["})
    return f"{reverse('admin:flowforge_admin_taskrun_changelist')}?{query}"


def summary(by_status):
    """ "5 of 6 succeeded · 1 failed": how many of a mapped task's instances succeeded, then the others."""
    total = sum(by_status.values())
    if not total:
        return _("no instances")
    succeeded = by_status.get("succeeded", 0)
    text = ngettext("%(done)d of %(count)d succeeded", "%(done)d of %(count)d succeeded", total) % {
        "done": succeeded,
        "count": total,
    }
    others = sorted((status, number) for status, number in by_status.items() if status != "succeeded")
    return " · ".join([text, *(f"{number} {_(status)}" for status, number in others)])


def summaries(run_id, names):
    """Return {mapped task: {"instances": summary, "instances_url": list of them, "instances_count": n}} (one query)."""
    found_counts = counts(run_id, names)
    found = {}
    for name in names:
        by_status = found_counts.get(name, {})
        total = sum(by_status.values())
        found[name] = {
            "instances": summary(by_status),
            "instances_url": instances_url(run_id, name) if total else "",
            "instances_count": total,
        }
    return found
