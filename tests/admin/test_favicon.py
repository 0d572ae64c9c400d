"""Every admin page of the app links the app's icon, served from its own static files."""

import re
import urllib.request

import pytest
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import FlowSchedule

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db(transaction=True)

ICON = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')


@pytest.fixture
def pages():
    """(name, URL) of each kind of admin page the app has, for one object of each model."""
    flow = register_task_pipeline("icon", {"first": {"function": t.echo}})
    task = flow.tasks.get()
    run = run_flow(flow)
    task_run = run.task_runs.get()
    schedule = FlowSchedule.objects.create(flow=flow, name="hourly", kind="minutes", every_minutes=60)
    objects = {"flow": flow, "task": task, "flowrun": run, "flowschedule": schedule}
    urls = [("app index", reverse("admin:app_list", args=["flowforge_admin"]))]
    for model in ["flow", "task", "flowrun", "flowschedule", "taskrun"]:
        urls.append((f"{model} list", reverse(f"admin:flowforge_admin_{model}_changelist")))
    for model in ["flow", "task", "flowschedule"]:
        urls.append((f"{model} add", reverse(f"admin:flowforge_admin_{model}_add")))
    for model, obj in objects.items():
        for view in ["change", "history", "delete"]:
            urls.append((f"{model} {view}", reverse(f"admin:flowforge_admin_{model}_{view}", args=[obj.pk])))
    urls += [
        ("flow graph", reverse("admin:flowforge_admin_flow_graph", args=[flow.pk])),
        ("run graph", reverse("admin:flowforge_admin_flowrun_graph", args=[run.pk])),
        ("launch", reverse("admin:flowforge_admin_flow_launch", args=[flow.pk])),
        ("import", reverse("admin:flowforge_admin_flow_import")),
        ("export", reverse("admin:flowforge_admin_flow_export")),
        ("task log", reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk])),
    ]
    return urls, schedule


def test_every_admin_page_of_the_app_links_an_icon_that_is_served(admin_client, live_server, pages):
    urls, schedule = pages
    hrefs = {}
    for name, url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        found = ICON.findall(response.content.decode())
        assert len(found) == 1, f"{name} ({url}) links {len(found)} icons"
        hrefs[name] = found[0]
    # Django's confirmation of a bulk delete, reached through the list's action.
    response = admin_client.post(
        reverse("admin:flowforge_admin_flowschedule_changelist"),
        {"action": "delete_selected", "_selected_action": [schedule.pk]},
    )
    assert ICON.findall(response.content.decode()) == [hrefs["app index"]]
    assert len(set(hrefs.values())) == 1
    # Served by the app's static files: no project URL or setting involved.
    with urllib.request.urlopen(live_server.url + hrefs["app index"]) as icon:
        assert icon.status == 200
        assert icon.headers["Content-Type"].startswith("image/svg+xml")
        assert icon.read().lstrip().startswith(b"<svg")


def test_the_project_answers_favicon_ico_for_pages_outside_the_app(client):
    """The admin index and login are the project's pages: /favicon.ico leads to the same icon."""
    answer = client.get("/favicon.ico")

    assert answer.status_code == 301
    assert answer["Location"].endswith("flowforge_admin/img/favicon.svg")
