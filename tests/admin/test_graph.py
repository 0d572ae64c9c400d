"""The graph pages and their JSON: shape, groups, statuses, snapshot use, query counts, permissions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.admin.outputs import json_size
from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Flow, Task
from flowforge_admin.templatetags.flowforge import human_bytes

from .. import engine_tasks as t
from ..conftest import chain_tasks, make_flow

pytestmark = pytest.mark.django_db

DEMO = "flowforge_admin.demo.tasks."


@pytest.fixture
def flow():
    return register_task_pipeline(
        "graphed",
        {
            "start": {"function": t.echo, "verbose_name": "Start here"},
            "group": {
                "depends_on": ["start"],
                "verbose_name": "A group",
                "nested_tasks": {
                    "inner1": {"function": t.echo, "retries": 2, "retry_delay": 3, "timeout": 30},
                    "inner2": {"function": t.echo, "depends_on": ["inner1"], "params": {"x": 1}},
                },
            },
            "last": {"function": t.fail, "depends_on": ["group"]},
        },
    )


def flow_data_url(flow):
    return reverse("admin:flowforge_admin_flow_graph_data", args=[flow.pk])


def run_data_url(run):
    return reverse("admin:flowforge_admin_flowrun_graph_data", args=[run.pk])


def by_name(data):
    return {task["name"]: task for task in data["tasks"]}


def test_flow_json_lists_tasks_parents_first_with_groups_and_dependencies(admin_client, flow):
    data = admin_client.get(flow_data_url(flow)).json()
    assert data["view"] == "flow"
    assert data["flow"]["name"] == "graphed"
    assert data["run"] is None
    names = [task["name"] for task in data["tasks"]]
    assert names.index("group") < names.index("inner1") < names.index("inner2")
    tasks = by_name(data)
    assert tasks["start"]["label"] == "Start here"
    assert tasks["inner1"]["label"] == "inner1"  # no verbose name: the name
    assert tasks["inner1"]["parent"] == "group"
    assert tasks["start"]["parent"] is None
    assert tasks["group"]["depends_on"] == ["start"]
    assert tasks["inner2"]["depends_on"] == ["inner1"]
    assert (tasks["inner1"]["retries"], tasks["inner1"]["retry_delay"], tasks["inner1"]["timeout"]) == (
        2,
        3,
        30,
    )
    assert tasks["inner2"]["params"] == {"x": 1}
    assert tasks["start"]["function"] == "tests.engine_tasks.echo"
    assert "def echo" in tasks["start"]["source"]
    assert tasks["last"]["docstring"] == Task.objects.get(flow=flow, name="last").docstring
    assert [entry["status"] for entry in data["legend"]][:2] == ["pending", "queued"]


def test_flow_json_links_tasks_to_their_edit_page_only_for_editors(admin_client, stakeholder_client, flow):
    task = Task.objects.get(flow=flow, name="start")
    edit = reverse("admin:flowforge_admin_task_change", args=[task.pk])
    assert by_name(admin_client.get(flow_data_url(flow)).json())["start"]["edit_url"] == edit
    assert by_name(stakeholder_client.get(flow_data_url(flow)).json())["start"]["edit_url"] is None


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def grouped_specs(groups, per_group):
    """``groups`` groups of ``per_group`` chained tasks, each group after the one before."""
    specs = []
    for g in range(groups):
        specs.append(TaskSpec(name=f"g{g}", depends_on=(f"g{g - 1}",) if g else ()))
        for i in range(per_group):
            name = f"g{g}t{i}"
            specs.append(
                TaskSpec(
                    name=name,
                    parent=f"g{g}",
                    function=DEMO + "prepare_batch",
                    depends_on=(f"g{g}t{i - 1}",) if i else (),
                )
            )
    return specs


def test_flow_json_takes_the_same_queries_for_3_and_300_tasks(admin_client):
    small = make_flow("small", chain_tasks(3))
    large = make_flow("large", grouped_specs(20, 14))
    assert count_queries(admin_client, flow_data_url(small)) == count_queries(
        admin_client, flow_data_url(large)
    )
    assert len(admin_client.get(flow_data_url(large)).json()["tasks"]) == 300


def test_run_json_takes_the_same_queries_for_3_and_300_tasks(admin_client):
    small = launch_flow(make_flow("small", chain_tasks(3)))
    large = launch_flow(make_flow("large", grouped_specs(20, 14)))
    assert count_queries(admin_client, run_data_url(small)) == count_queries(
        admin_client, run_data_url(large)
    )
    statuses = f"{run_data_url(large)}?statuses=1"
    assert count_queries(admin_client, f"{run_data_url(small)}?statuses=1") == count_queries(
        admin_client, statuses
    )


def test_run_json_gives_each_task_its_status_attempts_and_log_link(admin_client, flow):
    run = run_flow(flow)
    data = admin_client.get(run_data_url(run)).json()
    assert data["view"] == "run"
    assert data["run"]["status"] == "failed"
    assert data["run"]["is_finished"] is True
    statuses = data["statuses"]
    assert statuses["start"]["status"] == "succeeded"
    assert statuses["group"]["status"] == "succeeded"
    assert statuses["last"]["status"] == "failed"
    assert statuses["last"]["label"] == "failed"
    assert "boom" in statuses["last"]["error"]
    assert statuses["inner1"]["max_attempts"] == 3
    assert statuses["inner1"]["attempt"] == 1
    task_run = run.task_runs.get(task_name="last")
    assert statuses["last"]["log_url"] == reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk])
    inner2 = run.task_runs.get(task_name="inner2")
    assert statuses["inner2"]["output"] == {  # echo's output: its type and size, its preview on demand
        "type": "dict",
        "size": human_bytes(json_size(inner2.output)),
        "preview_url": reverse("admin:flowforge_admin_flowrun_output_preview", args=[run.pk, inner2.pk]),
    }
    assert statuses["last"]["output"] is None
    assert statuses["start"]["started_at"]
    assert statuses["start"]["finished_at"]


def test_run_statuses_only_answer_is_the_live_part(admin_client, flow):
    run = launch_flow(flow)
    data = admin_client.get(f"{run_data_url(run)}?statuses=1").json()
    assert set(data) == {"run", "statuses"}
    assert data["run"]["is_finished"] is False
    assert data["statuses"]["last"]["status"] == "pending"
    assert set(data["statuses"]) == {"start", "group", "inner1", "inner2", "last"}


def test_run_json_draws_the_snapshot_after_the_flow_changed_or_was_deleted(admin_client, flow):
    run = launch_flow(flow)
    register_task_pipeline("graphed", {"only": {"function": t.echo}}, clear_existing_flow_in_db=True)
    data = admin_client.get(run_data_url(run)).json()
    assert [task["name"] for task in data["tasks"]] == ["start", "group", "inner1", "inner2", "last"]
    assert by_name(data)["start"]["edit_url"] is None  # that task is gone from the flow
    Flow.objects.filter(name="graphed").delete()
    data = admin_client.get(run_data_url(run)).json()
    assert len(data["tasks"]) == 5
    assert data["flow"]["name"] == "graphed"
    assert data["flow"]["id"] is None
    assert data["tasks"][0]["source"] == ""  # no flow rows left to read it from


def test_pages_render_with_their_data_url_and_controls(admin_client, flow):
    page = admin_client.get(reverse("admin:flowforge_admin_flow_graph", args=[flow.pk])).text
    assert f'data-data-url="{flow_data_url(flow)}"' in page
    assert 'id="ff-graph-flow"' in page  # the flow picker
    assert "vendor/cytoscape/cytoscape.min.js" in page
    assert "vendor/elkjs/elk-worker.min.js" in page
    assert '<script type="module" src="/static/flowforge_admin/js/graph/main.js"></script>' in page
    # The JSON is fetched while the scripts load (main.js's fetch() takes this response).
    assert f'<link rel="preload" href="{flow_data_url(flow)}" as="fetch" crossorigin>' in page
    assert "<script>" not in page.split("</head>")[1]  # no inline script in the body (CSP)
    run = launch_flow(flow)
    page = admin_client.get(reverse("admin:flowforge_admin_flowrun_graph", args=[run.pk])).text
    assert f'data-data-url="{run_data_url(run)}"' in page
    assert 'id="ff-graph-runstatus"' in page


@pytest.mark.parametrize("client_name", ["admin_client", "stakeholder_client"])
def test_flow_and_run_pages_link_to_their_graph(request, client_name, flow):
    client = request.getfixturevalue(client_name)
    page = client.get(reverse("admin:flowforge_admin_flow_change", args=[flow.pk])).text
    assert reverse("admin:flowforge_admin_flow_graph", args=[flow.pk]) in page
    run = launch_flow(flow)
    page = client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])).text
    assert reverse("admin:flowforge_admin_flowrun_graph", args=[run.pk]) in page


@pytest.mark.parametrize("client_name", ["stakeholder_client", "operator_client", "editor_client"])
def test_every_role_can_see_both_views(request, client_name, flow):
    client = request.getfixturevalue(client_name)
    run = launch_flow(flow)
    for name, pk in [("flow_graph", flow.pk), ("flowrun_graph", run.pk)]:
        assert client.get(reverse(f"admin:flowforge_admin_{name}", args=[pk])).status_code == 200
        assert client.get(reverse(f"admin:flowforge_admin_{name}_data", args=[pk])).status_code == 200


def test_users_without_view_permission_get_403_and_anonymous_users_the_login(client, django_user_model, flow):
    run = launch_flow(flow)
    urls = [
        reverse("admin:flowforge_admin_flow_graph", args=[flow.pk]),
        flow_data_url(flow),
        reverse("admin:flowforge_admin_flowrun_graph", args=[run.pk]),
        run_data_url(run),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user("staff", password="pw", is_staff=True))
    for url in urls:
        assert client.get(url).status_code == 403


def test_unknown_ids_are_404(admin_client):
    assert admin_client.get(reverse("admin:flowforge_admin_flow_graph_data", args=[999])).status_code == 404
    assert (
        admin_client.get(reverse("admin:flowforge_admin_flowrun_graph_data", args=[999])).status_code == 404
    )


def test_the_predecessors_conceptual_view_redirects_to_the_first_flows_graph(admin_client):
    url = "/django_flow_forge/conceptual-dag-viz/"
    assert admin_client.get(url)["Location"] == reverse("admin:flowforge_admin_flow_changelist")
    second = make_flow("b_flow", chain_tasks(1))
    first = make_flow("a_flow", chain_tasks(1))
    assert second.pk < first.pk
    assert admin_client.get(url)["Location"] == reverse("admin:flowforge_admin_flow_graph", args=[first.pk])


def test_the_polled_json_carries_no_preview_however_long_the_output(admin_client):
    flow = register_task_pipeline("loud", {"big": {"function": t.echo, "params": {"text": "x" * 5000}}})
    run = run_flow(flow)
    response = admin_client.get(run_data_url(run), {"statuses": 1})  # what the drawing polls
    assert "x" * 100 not in response.text
    output = run.task_runs.get(task_name="big").output
    assert response.json()["statuses"]["big"]["output"]["size"] == human_bytes(json_size(output))
