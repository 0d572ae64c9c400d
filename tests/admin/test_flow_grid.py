"""The grid of recent runs on the flow page: one coloured cell per task run, in constant queries."""

import re
from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin import api
from flowforge_admin.admin.grid import GRID_RUNS, build_run_grid
from flowforge_admin.definitions import store
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.models import FlowRun, TaskRun
from tests.conftest import DEMO, make_flow

pytestmark = pytest.mark.django_db


def tasks():
    """load, then a group 'stage' holding two chained tasks."""
    return [
        TaskSpec("load", function=DEMO + "prepare_batch"),
        TaskSpec("stage", depends_on=("load",)),
        TaskSpec("stage_a", parent="stage", function=DEMO + "prepare_batch"),
        TaskSpec("stage_b", parent="stage", function=DEMO + "prepare_batch", depends_on=("stage_a",)),
    ]


@pytest.fixture
def flow():
    return make_flow("etl", tasks())


def launch(flow, run_status="succeeded", **task_statuses):
    """Launch a run (nothing executes in these tests) and set its statuses as given."""
    run = api.launch_flow(flow)
    FlowRun.objects.filter(pk=run.pk).update(status=run_status)
    for name, status in task_statuses.items():
        TaskRun.objects.filter(run=run, task_name=name).update(status=status)
    return run


def change_url(flow):
    return reverse("admin:flowforge_admin_flow_change", args=[flow.pk])


def run_url(run):
    return reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])


def page_queries(client, url):
    client.get(url)  # warm the caches that outlive a request
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(queries)


def grid_section(response):
    content = response.content.decode()
    start = content.index('class="module ff-run-grid"')
    return content[start : content.index("</fieldset>", start)]


def current_tasks(flow):
    return list(flow.tasks.order_by("tree_id", "lft"))


def test_grid_is_built_in_two_queries_for_2_or_25_runs(flow, django_assert_num_queries):
    rows = current_tasks(flow)
    for _ in range(2):
        launch(flow)
    with django_assert_num_queries(2):
        few = build_run_grid(flow, rows)

    for _ in range(23):
        launch(flow)
    with django_assert_num_queries(2):
        many = build_run_grid(flow, rows)

    assert (len(few.columns), len(many.columns)) == (2, 25)
    assert {len(row.cells) for row in many.rows} == {25}


def test_flow_page_takes_as_many_queries_with_2_runs_as_with_25(stakeholder_client, flow):
    for _ in range(2):
        launch(flow)
    _, few = page_queries(stakeholder_client, change_url(flow))
    for _ in range(23):
        launch(flow)
    response, many = page_queries(stakeholder_client, change_url(flow))

    assert grid_section(response).count('class="ff-grid-cell') == 25 * 4
    assert many == few


def test_grid_shows_the_last_25_runs_oldest_on_the_left(flow):
    runs = [launch(flow) for _ in range(GRID_RUNS + 3)]

    grid = build_run_grid(flow, current_tasks(flow))

    assert [column.pk for column in grid.columns] == [run.pk for run in runs[3:]]
    assert grid.columns[-1].url == run_url(runs[-1])


def test_rows_follow_the_task_tree_with_indentation(flow):
    launch(flow)

    grid = build_run_grid(flow, current_tasks(flow))

    assert [(row.name, row.indent, row.current) for row in grid.rows] == [
        ("load", 0, True),
        ("stage", 0, True),
        ("stage_a", 1, True),
        ("stage_b", 1, True),
    ]


def test_each_cell_has_its_status_and_links_to_the_task_in_its_run(flow):
    first = launch(flow, "failed", load="succeeded", stage="upstream_failed", stage_a="failed")
    second = launch(flow, "running", load="running")

    grid = build_run_grid(flow, current_tasks(flow))

    cells = {row.name: [(cell.status, cell.url) for cell in row.cells] for row in grid.rows}
    assert cells["load"] == [
        ("succeeded", run_url(first) + "#task-load"),
        ("running", run_url(second) + "#task-load"),
    ]
    assert [status for status, _ in cells["stage_a"]] == ["failed", "pending"]
    assert grid.rows[2].cells[0].title == f"stage_a: failed in run #{first.pk}"
    assert [column.status for column in grid.columns] == ["failed", "running"]
    assert grid.states == ("pending", "running", "succeeded", "failed", "upstream_failed")


def test_tasks_only_older_runs_had_come_after_the_current_ones(flow):
    old = launch(flow)
    store.write_flow(
        FlowSpec(name="etl", display_name="etl", tasks=(*tasks()[:1], replace(tasks()[1], name="merge"))),
        origin=flow.origin,
    )
    new = launch(flow)

    grid = build_run_grid(flow, current_tasks(flow))

    assert [(row.name, row.current) for row in grid.rows] == [
        ("load", True),
        ("merge", True),
        ("stage", False),
        ("stage_a", False),
        ("stage_b", False),
    ]
    merge = grid.rows[1].cells
    assert (merge[0].status, merge[1].status) == (None, "pending")
    assert merge[0].title == f"merge: not in run #{old.pk}"
    assert grid.rows[2].cells[1].status is None
    assert grid.columns[1].pk == new.pk


def test_page_draws_cells_with_status_in_the_title_and_colour_class(stakeholder_client, flow):
    run = launch(flow, "failed", load="failed")

    section = grid_section(stakeholder_client.get(change_url(flow)))

    link = re.search(r'<a href="([^"]+)" class="ff-grid-cell ff-status-failed" title="([^"]+)"></a>', section)
    assert link.groups() == (run_url(run) + "#task-load", f"load: failed in run #{run.pk}")
    head = re.search(
        r'<a href="([^"]+)" class="ff-grid-head ff-status-failed" title="Run #(\d+), failed, ', section
    )
    assert head.groups() == (run_url(run), str(run.pk))
    assert 'class="ff-status ff-status-failed">failed</span>' in section  # the legend


def test_flow_without_runs_says_so(stakeholder_client, flow, django_assert_num_queries):
    rows = current_tasks(flow)
    with django_assert_num_queries(1):
        grid = build_run_grid(flow, rows)
    assert (grid.columns, grid.rows) == ((), ())

    section = grid_section(stakeholder_client.get(change_url(flow)))
    assert "No runs yet." in section
    assert "ff-grid-cell" not in section


def test_grid_shows_only_this_flows_runs(flow):
    other = make_flow("other", tasks())
    launch(other)
    mine = launch(flow)

    assert [column.pk for column in build_run_grid(flow, current_tasks(flow)).columns] == [mine.pk]
