"""What an alert says: one JSON-able dict for every channel, and its one-line summary.

The webhook posts it as its body, the callable gets it as its argument, and
e-mail sends its ``text`` with the links. Links are absolute when
``FLOWFORGE_BASE_URL`` is set (e.g. ``https://flows.example.com``), else
paths of the admin.
"""

from django.urls import NoReverseMatch, reverse

from ..conf import get_setting
from ..models import TaskRun
from ..states import AlertEvent, TaskState

# At most this many failing tasks are listed, each error cut to ERROR_CHARS.
MAX_TASKS = 20
ERROR_CHARS = 500


def absolute(path):
    """``path`` under FLOWFORGE_BASE_URL (unchanged when it is not set)."""
    base = (get_setting("FLOWFORGE_BASE_URL") or "").rstrip("/")
    return f"{base}{path}" if path else ""


def _admin_url(name, pk):
    return _absolute_path(f"admin:flowforge_admin_{name}_change", pk)


def _absolute_path(url_name, pk):
    try:
        return absolute(reverse(url_name, args=[pk]))
    except NoReverseMatch:  # a host that mounts the admin otherwise
        return ""


def build(delivery):
    """The payload of ``delivery`` (with its run, task run, schedule and alert loaded as needed)."""
    run, event = delivery.run, delivery.event
    payload = {
        "event": event,
        "flow": delivery.flow_name,
        "alert": delivery.alert.name if delivery.alert else "",
        "delivery": delivery.pk,
        "run_id": run.pk if run else None,
        "status": run.status if run else None,
        "message": delivery.message,
        "failing_tasks": [],
        "links": {},
    }
    if run is not None:
        payload["run"] = {
            "id": run.pk,
            "status": run.status,
            "triggered_by": run.triggered_by,
            "created_at": _iso(run.created_at),
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "logical_date": _iso(run.logical_date),
        }
        payload["failing_tasks"] = failing_tasks(run)
        payload["links"]["run"] = _admin_url("flowrun", run.pk)
    if delivery.task_run_id:
        task_run = delivery.task_run
        payload["task"] = {"name": task_run.task_name, "attempt": task_run.attempt, "status": task_run.status}
        if delivery.event == AlertEvent.TASK_WAITING:
            # Where its approvers decide it.
            payload["links"]["approval"] = _absolute_path(
                "admin:flowforge_admin_approval_decide", task_run.pk
            )
    if delivery.schedule_id:
        payload["schedule"] = {"id": delivery.schedule_id, "name": delivery.schedule.name}
        payload["links"]["schedule"] = _admin_url("flowschedule", delivery.schedule_id)
    flow_id = run.flow_id if run is not None else (delivery.alert.flow_id if delivery.alert else None)
    if flow_id:
        payload["links"]["flow"] = _admin_url("flow", flow_id)
    payload["text"] = summary(payload, delivery.alert.text if delivery.alert else "")
    return payload


def failing_tasks(run):
    """[{name, status, error}] of the run's failed task runs (not those that only waited for them)."""
    rows = (
        TaskRun.objects.filter(run=run, status=TaskState.FAILED)
        .order_by("finished_at", "id")
        .values_list("task_name", "status", "error")[:MAX_TASKS]
    )
    return [
        {"name": name, "status": status, "error": (error or "")[:ERROR_CHARS]} for name, status, error in rows
    ]


def summary(payload, prefix=""):
    """The Slack-compatible one-paragraph text: mrkdwn link to the run, what happened, the first errors."""
    flow, event, run_id = payload["flow"], payload["event"], payload["run_id"]
    link = payload["links"].get("run", "")
    what = f"run #{run_id}" if run_id else "schedule"
    if link.startswith("http"):
        what = f"<{link}|{what}>"
    words = {
        AlertEvent.RUN_FAILED: "failed",
        AlertEvent.RUN_SUCCEEDED: "succeeded",
        AlertEvent.TASK_RETRYING: "has a task retrying",
        AlertEvent.TASK_WAITING: "has a task waiting for approval",
        AlertEvent.SLA_MISSED: "is taking longer than expected",
        AlertEvent.SCHEDULE_SKIPPED: "skipped a fire",
    }.get(event, event)
    if event == AlertEvent.SCHEDULE_SKIPPED and payload.get("schedule"):
        what = f"schedule {payload['schedule']['name']!r}"
    lines = [f"Flow Forge: {flow} {what} {words}."]
    if "task" in payload:
        lines.append(f"Task {payload['task']['name']}: {payload['message']}")
    elif payload["message"]:
        lines.append(payload["message"])
    for task in payload["failing_tasks"][:3]:
        lines.append(
            f"• {task['name']}: {task['error'].splitlines()[0] if task['error'] else task['status']}"
        )
    text = "\n".join(lines)
    return f"{prefix} {text}" if prefix else text


def _iso(moment):
    return moment.isoformat() if moment else None
