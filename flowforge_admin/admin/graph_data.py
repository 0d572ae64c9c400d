"""The JSON behind the DAG drawing: a flow's definition, or a run's snapshot with its statuses.

Each builder reads a constant number of queries whatever the flow's size, so
that a flow of thousands of tasks answers as fast as a small one. The browser
receives one flat list of tasks (parents before children) and derives edges,
groups and collapsed views itself.
"""

from django.urls import reverse
from django.utils import timezone

from ..definitions.snapshots import stored_definition
from ..definitions.store import read_task_rows
from ..models import Task, TaskRun
from ..states import TaskState
from ..templatetags.flowforge import human_bytes
from . import graph_instances, mapped_instances
from .outputs import json_size

# What the drawing needs of a TaskRun, read with .values() (no model instances).
TASK_RUN_FIELDS = [
    "id",
    "task_name",
    "status",
    "attempt",
    "max_attempts",
    "started_at",
    "finished_at",
    "output",
    "error",
    # The artifact's type and size, joined in the same query (None without one).
    "artifact__type_name",
    "artifact__size",
]


def legend():
    """Every task status with its label, in the order a legend shows them."""
    return [{"status": state.value, "label": str(state.label)} for state in TaskState]


def task_entry(data, text=None, edit_url=None):
    """One task as the drawing shows it: structure from ``data``, texts from ``text``."""
    text = text or {}
    return {
        "name": data["name"],
        "label": data.get("verbose_name") or data["name"],
        "parent": data.get("parent"),
        "depends_on": sorted(data.get("depends_on") or []),
        "function": data.get("function") or "",
        "params": data.get("params") or {},
        "retries": data.get("retries") or 0,
        "retry_delay": data.get("retry_delay") or 0,
        "timeout": data.get("timeout"),
        "pool": data.get("pool") or "",
        "pool_slots": data.get("pool_slots") or 1,
        "queue": data.get("queue") or "",
        "sensor": data.get("sensor"),
        "approval": data.get("approval"),
        "map_over": data.get("map_over") or "",
        "map_param": data.get("map_param") or "",
        "docstring": text.get("docstring", ""),
        "source": text.get("source", ""),
        "edit_url": edit_url,
    }


def task_texts(flow):
    """Return ``{name: {"id", "docstring", "source"}}`` for a flow's stored tasks (one query)."""
    if flow is None:
        return {}
    rows = Task.objects.filter(flow=flow).values("id", "name", "docstring", "source")
    return {row["name"]: row for row in rows}


def edit_url(texts, name, can_change):
    """The task's admin change page, when the user may change it and it still exists."""
    if not can_change or name not in texts:
        return None
    return reverse("admin:flowforge_admin_task_change", args=[texts[name]["id"]])


def flow_header(flow):
    return {
        "id": flow.pk,
        "name": flow.name,
        "title": str(flow),
        "version": flow.version,
        "url": reverse("admin:flowforge_admin_flow_change", args=[flow.pk]),
    }


def flow_graph(flow, *, can_change=False):
    """The definition view: the flow's stored tasks and dependencies (two queries)."""
    rows, depends_on = read_task_rows(flow, extra_fields=("docstring", "source"))
    texts = {row["name"]: row for row in rows}
    tasks = []
    for row in rows:
        data = dict(row, depends_on=depends_on.get(row["id"], []))
        tasks.append(task_entry(data, texts.get(row["name"]), edit_url(texts, row["name"], can_change)))
    return {
        "view": "flow",
        "flow": flow_header(flow),
        "run": None,
        "tasks": tasks,
        "legend": legend(),
        "time_zone": time_zone(),
    }


def time_zone():
    """The zone the admin shows times in: the drawing writes its times in it, with its name."""
    return timezone.get_current_timezone_name()


def iso(value):
    return value.isoformat() if value else None


def output_entry(row, run_id):
    """The output's type and size, and where the panel fetches its preview; None without output.

    Only these: the drawing polls every task's entry while the run goes on,
    and previews (a DataFrame's rows, a JSON tree) would multiply each poll's
    size; the panel fetches the one it shows (output_views.preview_view).
    """
    if row["artifact__type_name"] is not None:
        type_name, size = row["artifact__type_name"], row["artifact__size"]
    elif row["output"] is not None:
        type_name, size = type(row["output"]).__name__, json_size(row["output"])
    else:
        return None
    return {
        "type": type_name,
        "size": human_bytes(size),
        "preview_url": reverse("admin:flowforge_admin_flowrun_output_preview", args=[run_id, row["id"]]),
    }


def task_run_entry(row, run_id, can_control=False):
    """The live part of one task run: status, attempts, times, output summary, error and links.

    ``clear_url`` (where the panel's Clear button posts) only for a user who
    may control runs; the panel offers it for finished tasks.
    """
    entry = {
        "status": row["status"],
        "label": str(TaskState(row["status"]).label),
        "attempt": row["attempt"],
        "max_attempts": row["max_attempts"],
        "started_at": iso(row["started_at"]),
        "finished_at": iso(row["finished_at"]),
        "output": output_entry(row, run_id),
        "error": row["error"],
        "log_url": reverse("admin:flowforge_admin_taskrun_log", args=[row["id"]]),
    }
    if can_control:
        entry["clear_url"] = reverse("admin:flowforge_admin_flowrun_clear", args=[run_id, row["id"]])
    return entry


def run_header(flow_run):
    return {
        "id": flow_run.pk,
        "status": flow_run.status,
        "label": str(flow_run.get_status_display()),
        "is_finished": flow_run.is_finished,
        "url": reverse("admin:flowforge_admin_flowrun_change", args=[flow_run.pk]),
    }


def run_statuses(flow_run, *, can_control=False):
    """Return ``{"run": header, "statuses": {task: entry}}`` (one query): what the live view polls."""
    # A mapped task's instances are drawn as one node: a count, not one entry each.
    rows = TaskRun.objects.filter(run=flow_run, map_index__isnull=True).values(*TASK_RUN_FIELDS)
    statuses = {row["task_name"]: task_run_entry(row, flow_run.pk, can_control) for row in rows}
    graph = stored_definition(flow_run.pk, flow_run.created_at).graph
    mapped = [name for name in graph.names if graph.record(name).get("map_over") and name in statuses]
    # Every mapped task gets a summary: a count of 0 until its upstream has given the items.
    found = mapped_instances.counts(flow_run.pk, mapped) if mapped else {}
    for name in mapped:
        by_status = found.get(name, {})
        statuses[name]["instances"] = {
            "count": sum(by_status.values()),
            "by_status": by_status,
            # The task run list of them (all, with the admin's filters), and the panel's pages.
            "url": mapped_instances.instances_url(flow_run.pk, name),
            "list_url": graph_instances.page_url(flow_run.pk, name, 1),
        }
    return {"run": run_header(flow_run), "statuses": statuses}


def run_graph(flow_run, *, can_change=False, can_control=False):
    """The run view: the run's snapshot (not today's flow), its statuses and the tasks' texts.

    The snapshot gives the structure, so a run draws as it ran after its
    flow was edited or deleted; docstrings and sources come from the flow's
    rows while it exists.
    """
    flow = flow_run.flow
    texts = task_texts(flow)
    snapshot = flow_run.snapshot or {}
    tasks = [
        task_entry(data, texts.get(data["name"]), edit_url(texts, data["name"], can_change))
        for data in snapshot.get("tasks", [])
    ]
    header = flow_header(flow) if flow is not None else {"id": None, "name": flow_run.flow_name, "url": None}
    header.update(title=header.get("title") or flow_run.flow_name, version=flow_run.flow_version)
    return {
        "view": "run",
        "flow": header,
        "tasks": tasks,
        "legend": legend(),
        "time_zone": time_zone(),
        **run_statuses(flow_run, can_control=can_control),
    }
