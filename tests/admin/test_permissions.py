"""Every custom admin URL against every kind of user: who is sent to log in, refused or served.

Anonymous users go to the login page; a Stakeholder may look at everything
and change nothing; Operators, Editors and superusers may launch and control
runs and pause schedules; only Editors and superusers import and add
schedules. A refused POST changes nothing.
"""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.models import FlowRun, FlowSchedule, TaskRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "Stakeholder", "Operator", "Editor", "superuser"]
MAY_LOOK = {"Stakeholder", "Operator", "Editor", "superuser"}
MAY_ACT = {"Operator", "Editor", "superuser"}
MAY_EDIT = {"Editor", "superuser"}


@pytest.fixture
def world():
    flow = register_task_pipeline(
        "guarded",
        {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}},
        params={"size": 3},
    )
    schedule = FlowSchedule.objects.create(flow=flow, name="nightly", kind="daily")
    failed = run_flow(flow)
    queued = launch_flow(flow)
    return {
        "flow": flow,
        "failed": failed,
        "queued": queued,
        "bad": failed.task_runs.get(task_name="bad"),
        "ok": failed.task_runs.get(task_name="ok"),
        "schedule": schedule,
    }


def client_for(role, role_user):
    client = Client()
    if role == "superuser":
        client.force_login(User.objects.create_superuser("root", password="pw"))
    elif role != "anonymous":
        client.force_login(role_user(role))
    return client


# (name, method, URL name, URL arguments from the world, POST data, who may)
ENDPOINTS = [
    ("flow list", "get", "flow_changelist", lambda w: [], None, MAY_LOOK),
    ("flow page", "get", "flow_change", lambda w: [w["flow"].pk], None, MAY_LOOK),
    ("launch form", "get", "flow_launch", lambda w: [w["flow"].pk], None, MAY_ACT),
    ("launch", "post", "flow_launch", lambda w: [w["flow"].pk], {}, MAY_ACT),
    ("run list", "get", "flowrun_changelist", lambda w: [], None, MAY_LOOK),
    ("run page", "get", "flowrun_change", lambda w: [w["failed"].pk], None, MAY_LOOK),
    ("run history", "get", "flowrun_history", lambda w: [w["failed"].pk], None, MAY_LOOK),
    ("live", "get", "flowrun_live", lambda w: [w["queued"].pk], None, MAY_LOOK),
    ("output", "get", "flowrun_output", lambda w: [w["failed"].pk, w["ok"].pk], None, MAY_LOOK),
    ("cancel", "post", "flowrun_cancel", lambda w: [w["queued"].pk], {}, MAY_ACT),
    ("re-run", "post", "flowrun_rerun", lambda w: [w["failed"].pk], {}, MAY_ACT),
    ("launch again", "post", "flowrun_relaunch", lambda w: [w["failed"].pk], {}, MAY_ACT),
    ("retry", "post", "flowrun_retry", lambda w: [w["failed"].pk, w["bad"].pk], {}, MAY_ACT),
    (
        "mark",
        "post",
        "flowrun_mark",
        lambda w: [w["failed"].pk, w["bad"].pk],
        {"status": "succeeded", "reason": "checked by hand"},
        MAY_ACT,
    ),
    (
        "clear",
        "post",
        "flowrun_clear",
        lambda w: [w["failed"].pk, w["ok"].pk],
        {"downstream": "1"},
        MAY_ACT,
    ),
    ("log", "get", "taskrun_log", lambda w: [w["bad"].pk], None, MAY_LOOK),
    ("log lines", "get", "taskrun_log_lines", lambda w: [w["bad"].pk], None, MAY_LOOK),
    ("log download", "get", "taskrun_log_download", lambda w: [w["bad"].pk], None, MAY_LOOK),
    ("task tree", "get", "task_changelist", lambda w: [], None, MAY_LOOK),
    ("flow graph", "get", "flow_graph", lambda w: [w["flow"].pk], None, MAY_LOOK),
    ("flow graph data", "get", "flow_graph_data", lambda w: [w["flow"].pk], None, MAY_LOOK),
    ("run graph", "get", "flowrun_graph", lambda w: [w["failed"].pk], None, MAY_LOOK),
    ("run graph data", "get", "flowrun_graph_data", lambda w: [w["failed"].pk], None, MAY_LOOK),
    ("export page", "get", "flow_export", lambda w: [], None, MAY_LOOK),
    ("import page", "get", "flow_import", lambda w: [], None, MAY_EDIT),
    ("schedule list", "get", "flowschedule_changelist", lambda w: [], None, MAY_LOOK),
    ("schedule page", "get", "flowschedule_change", lambda w: [w["schedule"].pk], None, MAY_LOOK),
    ("add schedule", "get", "flowschedule_add", lambda w: [], None, MAY_EDIT),
    ("pause schedule", "post", "flowschedule_pause", lambda w: [w["schedule"].pk], {}, MAY_ACT),
    ("run schedule now", "post", "flowschedule_run_now", lambda w: [w["schedule"].pk], {}, MAY_ACT),
]


def state(world):
    """What a refused request must leave as it was."""
    return (
        sorted(FlowRun.objects.values_list("pk", "status")),
        sorted(TaskRun.objects.values_list("pk", "status", "attempt")),
        sorted(FlowSchedule.objects.values_list("pk", "is_paused")),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("what", "method", "url_name", "args", "data", "allowed"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_permission_matrix(world, role_user, role, what, method, url_name, args, data, allowed):
    client = client_for(role, role_user)
    url = reverse(f"admin:flowforge_admin_{url_name}", args=args(world))
    before = state(world)
    response = getattr(client, method)(url, data) if method == "post" else client.get(url)

    if role == "anonymous":
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    elif role not in allowed:
        assert response.status_code == 403
    elif method == "get":
        assert response.status_code == 200
    else:
        assert response.status_code == 302  # done, back to a page that says so
        assert state(world) != before
    if role not in allowed:
        assert state(world) == before
