"""The instances of one mapped task of a run, a page at a time, for the run graph's panel.

A mapped task is drawn as one node whatever its number of instances; its
panel lists them from here, ``PER_PAGE`` at a time, so that a task of
thousands of instances costs the page what one of three does: two queries
(the count and the page) besides the run's.
The route is added with the run's other graph routes (``graph.graph_urls``),
behind the same view permission.
"""

from urllib.parse import urlencode

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from ..states import TaskState
from . import mapped_instances

PER_PAGE = 50

# What the panel shows of an instance, read with .values() (no model instances).
INSTANCE_FIELDS = [
    "id",
    "task_name",
    "map_index",
    "status",
    "attempt",
    "max_attempts",
    "started_at",
    "finished_at",
]


def error(message, status):
    """A JSON error the panel shows as it is (never Django's HTML error page)."""
    return JsonResponse({"error": message}, status=status)


def mapped_task_names(flow_run):
    """The names of the run's mapped tasks, from its snapshot (already read with the run)."""
    return {task["name"] for task in (flow_run.snapshot or {}).get("tasks", []) if task.get("map_over")}


def instance_entry(row):
    """One instance as the panel lists it: its index, status, attempt, duration and links."""
    started, finished = row["started_at"], row["finished_at"]
    return {
        "name": row["task_name"],
        "index": row["map_index"],
        "status": row["status"],
        "label": str(TaskState(row["status"]).label),
        "attempt": row["attempt"],
        "max_attempts": row["max_attempts"],
        "started_at": started.isoformat() if started else None,
        "finished_at": finished.isoformat() if finished else None,
        # Seconds; None until it has finished (a running one's would be stale at the next poll).
        "duration": round((finished - started).total_seconds(), 3) if started and finished else None,
        "log_url": reverse("admin:flowforge_admin_taskrun_log", args=[row["id"]]),
        "change_url": reverse("admin:flowforge_admin_taskrun_change", args=[row["id"]]),
    }


def page_url(run_id, name, number):
    base = reverse("admin:flowforge_admin_flowrun_graph_instances", args=[run_id])
    return f"{base}?{urlencode({'task': name, 'page': number})}"


def instances_response(request, flow_run):
    """Return the JSON of one page of a mapped task's instances (``?task=<name>&page=<n>``).

    400 without a task name or with a page that is not a number; 404 for a
    task that is not a mapped task of this run, or a page past the last.
    """
    name = request.GET.get("task", "")
    if not name:
        return error(_("Give the mapped task's name: ?task=<name>."), 400)
    if name not in mapped_task_names(flow_run):
        return error(
            _("Run %(run)s has no mapped task named %(task)r.") % {"run": flow_run.pk, "task": name}, 404
        )
    instances = mapped_instances.instances(flow_run.pk, name).order_by("map_index").values(*INSTANCE_FIELDS)
    paginator = Paginator(instances, PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        return error(_("The page must be a whole number from 1."), 400)
    except EmptyPage:
        return error(
            _("Page %(page)s does not exist: %(task)s has %(pages)d page(s) of instances.")
            % {"page": request.GET["page"], "task": name, "pages": paginator.num_pages},
            404,
        )
    return JsonResponse(
        {
            "task": name,
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "per_page": PER_PAGE,
            "previous_url": page_url(flow_run.pk, name, page.previous_page_number())
            if page.has_previous()
            else None,
            "next_url": page_url(flow_run.pk, name, page.next_page_number()) if page.has_next() else None,
            "instances": [instance_entry(row) for row in page.object_list],
        }
    )
