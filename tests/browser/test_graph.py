"""The DAG drawing in a real headless Chromium: drawing, groups, panel, search, live run, export."""

import base64
import io

import pytest
from django.core.management import call_command
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Flow, FlowRun, Task, TaskRun

from .. import engine_tasks as t
from ..conftest import make_flow
from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PIPELINE = {
    "generate_data": {"function": t.echo, "verbose_name": "Generate data"},
    "train_model": {
        "depends_on": ["generate_data"],
        "verbose_name": "Train model",
        "nested_tasks": {
            "split_data": {"function": t.echo, "verbose_name": "Split data"},
            "fit_linear_model": {
                "function": t.echo,
                "depends_on": ["split_data"],
                "verbose_name": "Fit linear model",
                "retries": 2,
                "timeout": 60,
            },
        },
    },
    "evaluate_model": {"function": t.fail, "depends_on": ["train_model"], "verbose_name": "Evaluate model"},
    "publish": {"function": t.echo, "depends_on": ["evaluate_model"], "verbose_name": "Publish report"},
}


@pytest.fixture
def demo_flow():
    return register_task_pipeline("ml_demo", PIPELINE, display_name="ML demo")


def open_graph(browser, url, timeout=30):
    browser.get(url)
    wait_drawn(browser, timeout)


def wait_drawn(browser, timeout=30):
    WebDriverWait(browser, timeout, poll_frequency=0.1).until(
        lambda b: b.execute_script(
            "const root = document.getElementById('content-main');"
            "return root.dataset.state === 'drawn' || root.dataset.state === 'error';"
        )
    )
    assert browser.execute_script("return document.getElementById('content-main').dataset.state") == "drawn"


def counts(browser):
    return browser.execute_script(
        "const cy = window.ffGraph.cy;"
        "return [cy.nodes().length, cy.edges().length, cy.nodes(':parent').length];"
    )


def edges(browser):
    return sorted(
        browser.execute_script(
            "return window.ffGraph.cy.edges().map(e => [e.source().id(), e.target().id()]);"
        )
    )


def node_class(browser, name, cls):
    return browser.execute_script(
        "return window.ffGraph.cy.getElementById(arguments[0]).hasClass(arguments[1]);", name, cls
    )


def set_theme(browser, theme):
    browser.execute_script("document.documentElement.dataset.theme = arguments[0];", theme)


def test_definition_view_draws_the_flow_with_its_group(browser, logged_in, demo_flow, screenshot):
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    assert counts(browser) == [6, 4, 1]  # 6 tasks, 4 dependencies, 1 group drawn as a box
    assert browser.execute_script(
        "return window.ffGraph.cy.getElementById('train_model').children().map(n => n.id());"
    ) == ["split_data", "fit_linear_model"]
    # Laid out left to right: each task right of what it waits for.
    x = browser.execute_script(
        "const cy = window.ffGraph.cy; return ['generate_data', 'evaluate_model', 'publish']"
        ".map(n => cy.getElementById(n).position('x'));"
    )
    assert x[0] < x[1] < x[2]
    assert "Graph" in browser.find_element(By.CSS_SELECTOR, ".breadcrumbs").text
    screenshot("graph_definition")
    set_theme(browser, "dark")
    screenshot("graph_definition_dark")
    set_theme(browser, "light")

    browser.find_element(By.CSS_SELECTOR, "[data-action=direction]").click()
    wait_drawn(browser)
    y = browser.execute_script(
        "const cy = window.ffGraph.cy; return ['generate_data', 'evaluate_model', 'publish']"
        ".map(n => cy.getElementById(n).position('y'));"
    )
    assert y[0] < y[1] < y[2]
    screenshot("graph_definition_top_to_bottom")


def test_collapsing_a_group_hides_its_children_and_reroutes_edges(browser, logged_in, demo_flow, screenshot):
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    browser.execute_script("window.ffGraph.toggleGroup('train_model');")
    WebDriverWait(browser, 30).until(lambda b: node_class(b, "train_model", "collapsed"))
    wait_drawn(browser)
    assert counts(browser) == [4, 3, 0]
    assert edges(browser) == [
        ["evaluate_model", "publish"],
        ["generate_data", "train_model"],
        ["train_model", "evaluate_model"],
    ]
    screenshot("graph_collapsed_group")

    browser.find_element(By.CSS_SELECTOR, "[data-action=expand-all]").click()
    WebDriverWait(browser, 30).until(lambda b: counts(b) == [6, 4, 1])
    browser.find_element(By.CSS_SELECTOR, "[data-action=collapse-all]").click()
    WebDriverWait(browser, 30).until(lambda b: counts(b) == [4, 3, 0])


def test_clicking_a_node_opens_its_panel_and_the_url_selects_it(browser, logged_in, demo_flow, screenshot):
    url = logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/")
    open_graph(browser, url)
    browser.execute_script("window.ffGraph.cy.getElementById('fit_linear_model').emit('tap');")
    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 30).until(lambda b: panel.is_displayed())
    text = panel.text
    assert "Fit linear model" in text
    assert "tests.engine_tasks.echo" in text
    assert "Split data" in text  # upstream, clickable
    assert "60 s" in text
    assert "Edit task" in text
    screenshot("graph_panel")
    panel.find_element(By.XPATH, ".//button[text()='Split data']").click()
    WebDriverWait(browser, 30).until(lambda b: "#task=split_data" in b.current_url)

    browser.get("about:blank")
    open_graph(browser, f"{url}#task=evaluate_model")
    WebDriverWait(browser, 30).until(
        lambda b: "Evaluate model" in b.find_element(By.ID, "ff-graph-panel").text
    )
    assert browser.execute_script("return window.ffGraph.cy.$(':selected').map(n => n.id());") == [
        "evaluate_model"
    ]


def test_search_finds_a_task_inside_a_collapsed_group(browser, logged_in, demo_flow):
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    browser.find_element(By.CSS_SELECTOR, "[data-action=collapse-all]").click()
    WebDriverWait(browser, 30).until(lambda b: counts(b) == [4, 3, 0])
    box = browser.find_element(By.ID, "ff-graph-search")
    box.send_keys("linear", Keys.ENTER)
    WebDriverWait(browser, 30).until(lambda b: node_class(b, "fit_linear_model", "match"))
    assert browser.execute_script("return window.ffGraph.cy.$(':selected').map(n => n.id());") == [
        "fit_linear_model"
    ]


def test_table_alternative_is_reachable_by_keyboard(browser, logged_in, demo_flow):
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    summary = browser.find_element(By.CSS_SELECTOR, "#ff-graph-table-wrap summary")
    summary.send_keys(Keys.ENTER)
    rows = WebDriverWait(browser, 30).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#ff-graph-table tbody tr") or False
    )
    assert len(rows) == 6
    assert "generate_data" in rows[1].text  # train_model depends on it
    rows[0].find_element(By.TAG_NAME, "button").send_keys(Keys.ENTER)
    WebDriverWait(browser, 30).until(
        lambda b: "Generate data" in b.find_element(By.ID, "ff-graph-panel").text
    )


def test_export_produces_png_and_svg(browser, logged_in, demo_flow):
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    png = browser.execute_async_script(
        "const done = arguments[0]; const reader = new FileReader();"
        "reader.onload = () => done(reader.result.split(',')[1]);"
        "reader.readAsDataURL(window.ffGraph.pngBlob());"
    )
    data = base64.b64decode(png)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000
    svg = browser.execute_script("return window.ffGraph.svgText();")
    # Kept next to the screenshots, to look at.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "graph_export.png").write_bytes(data)
    (SCREENSHOTS / "graph_export.svg").write_text(svg)
    assert svg.startswith("<svg")
    assert "Fit linear model" in svg
    assert svg.count("<line") == 4


def test_run_view_changes_colour_as_the_run_progresses(browser, logged_in, demo_flow, screenshot):
    run = launch_flow(demo_flow)
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flowrun/{run.pk}/graph/"))
    browser.execute_script("window.ffNotReloaded = true; window.ffGraph.cy.zoom(0.77);")
    assert node_class(browser, "generate_data", "s-queued")
    assert node_class(browser, "split_data", "s-pending")
    layouts = browser.execute_script("return window.ffGraph.state.layoutRuns;")
    FlowRun.objects.filter(pk=run.pk).update(status="running")
    TaskRun.objects.filter(run=run, task_name="generate_data").update(status="succeeded", attempt=1)
    TaskRun.objects.filter(run=run, task_name__in=["train_model", "split_data"]).update(
        status="running", attempt=1
    )
    WebDriverWait(browser, 15, poll_frequency=0.2).until(lambda b: node_class(b, "split_data", "s-running"))
    assert node_class(browser, "generate_data", "s-succeeded")
    assert not node_class(browser, "generate_data", "s-queued")
    # Restyled in place: no new layout, no reload, the user's zoom kept.
    assert browser.execute_script("return window.ffGraph.state.layoutRuns;") == layouts
    assert browser.execute_script("return window.ffNotReloaded === true && window.ffGraph.cy.zoom();") == 0.77
    browser.execute_script("window.ffGraph.cy.fit(undefined, 30);")
    screenshot("graph_run_running")
    set_theme(browser, "dark")
    screenshot("graph_run_running_dark")
    set_theme(browser, "light")


def test_failed_run_shows_the_error_and_log_link(browser, logged_in, demo_flow, screenshot):
    run = run_flow(demo_flow)
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flowrun/{run.pk}/graph/"))
    assert node_class(browser, "evaluate_model", "s-failed")
    assert node_class(browser, "publish", "s-upstream_failed")
    assert browser.find_element(By.ID, "ff-graph-runstatus").text == "failed"
    legend = browser.find_element(By.ID, "ff-graph-legend").text
    assert "upstream failed" in legend
    assert "succeeded" in legend
    browser.execute_script("window.ffGraph.select('evaluate_model');")
    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 30).until(lambda b: "boom" in panel.text)
    assert panel.find_element(By.LINK_TEXT, "Logs").get_attribute("href").endswith("/log/")
    screenshot("graph_run_failed")
    set_theme(browser, "dark")
    screenshot("graph_run_failed_dark")
    set_theme(browser, "light")


def test_pointing_at_a_task_highlights_its_upstream_and_downstream_paths(browser, logged_in, demo_flow):
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    browser.execute_script("window.ffGraph.cy.getElementById('evaluate_model').emit('mouseover');")
    on_path = browser.execute_script("return window.ffGraph.cy.elements('.path').map(e => e.id()).sort();")
    assert "publish" in on_path
    assert "train_model" in on_path
    assert "generate_data" in on_path  # two steps upstream
    assert node_class(browser, "evaluate_model", "path")
    browser.execute_script("window.ffGraph.cy.getElementById('evaluate_model').emit('mouseout');")
    assert browser.execute_script("return window.ffGraph.cy.elements('.path, .faded').length;") == 0


def test_the_flow_picker_opens_another_flows_graph(browser, logged_in, demo_flow):
    other = register_task_pipeline("another", {"only": {"function": t.echo}}, display_name="Another flow")
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    Select(browser.find_element(By.ID, "ff-graph-flow")).select_by_visible_text("Another flow")
    WebDriverWait(browser, 30).until(lambda b: f"/flow/{other.pk}/graph/" in b.current_url)
    wait_drawn(browser)
    assert counts(browser) == [1, 0, 0]


def test_the_shipped_demo_flows_draw_with_every_task_and_dependency(browser, logged_in):
    call_command("sync_flows", stdout=io.StringIO())
    for flow in Flow.objects.filter(name__startswith="demo_pipeline_"):
        open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))
        tasks = flow.tasks.count()
        dependencies = Task.depends_on.through.objects.filter(from_task__flow=flow).count()
        groups = flow.tasks.filter(children__isnull=False).distinct().count()
        assert counts(browser) == [tasks, dependencies, groups], flow.name
    assert Flow.objects.filter(name__startswith="demo_pipeline_").count() == 3


def grouped_tasks(groups, group_size=20):
    """Groups of chained tasks, each group after the one before, every seventh task also after
    its namesake in the previous group (as bench/bench_graph.py makes them)."""
    specs = []
    for g in range(groups):
        specs.append(TaskSpec(name=f"g{g}", depends_on=(f"g{g - 1}",) if g else ()))
        for i in range(group_size - 1):
            depends = [f"g{g}_t{i - 1}"] if i else []
            if g and i % 7 == 3:
                depends.append(f"g{g - 1}_t{i}")
            specs.append(
                TaskSpec(
                    name=f"g{g}_t{i}",
                    parent=f"g{g}",
                    function="tests.engine_tasks.echo",
                    depends_on=tuple(depends),
                )
            )
    return specs


# Boxes of the drawn tasks that an edge drawn straight (not a detour) runs through, its ends aside.
EDGES_THROUGH_TASKS = """
const cy = window.ffGraph.cy;
const boxes = cy.nodes().filter(n => !n.isParent()).map(n => [n.id(), n.boundingBox({includeLabels: false})]);
const hits = [];
cy.edges().not('.detour').forEach(edge => {
  const a = edge.sourceEndpoint(), b = edge.targetEndpoint(); // where the drawn line starts and ends
  for (let k = 1; k < 20; k++) {
    const x = a.x + (b.x - a.x) * k / 20, y = a.y + (b.y - a.y) * k / 20;
    for (const [id, box] of boxes) {
      if (id === edge.source().id() || id === edge.target().id()) continue;
      if (x > box.x1 && x < box.x2 && y > box.y1 && y < box.y2) hits.push(edge.id() + ' through ' + id);
    }
  }
});
return hits;
"""


def test_a_flow_of_up_to_1000_tasks_opens_expanded_its_long_edges_around_the_tasks(
    browser, logged_in, screenshot
):
    flow = make_flow("wide", grouped_tasks(30))  # 600 tasks: laid out a group at a time
    browser.get_log("browser")  # what earlier pages logged
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))
    # 29 groups after groups, 30 x 18 tasks after tasks, 29 x 3 tasks after the previous group's.
    assert counts(browser) == [600, 29 + 540 + 87, 30]
    assert browser.execute_script("return window.ffGraph.state.collapsed.size;") == 0
    # Each group is one row: a task after its namesake of the previous group is many layers on,
    # its edge goes around the tasks between them instead of under them.
    assert browser.execute_script(
        "return window.ffGraph.cy.getElementById('g0_t3\u2192g1_t3').hasClass('detour');"
    )
    assert browser.execute_script(EDGES_THROUGH_TASKS) == []
    assert browser.execute_script(
        "return window.ffGraph.cy.getElementById('g0_t3\u2192g1_t3').style('segment-distances');"
    ) in ("26px 26px", "-26px -26px")  # beside the row, clear of its tasks
    # Cytoscape warns in the console of a style it refuses (and then ignores) or one given to
    # an element rather than by the stylesheet (slow): none. Its wheel sensitivity is wanted.
    warned = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "cytoscape" in entry["message"] and "wheel sensitivity" not in entry["message"]
    ]
    assert warned == []
    browser.execute_script(
        "const cy = window.ffGraph.cy; cy.zoom(0.5); cy.center(cy.getElementById('g1_t3'));"
    )
    screenshot("graph_600_tasks")


def test_a_flow_of_more_than_1000_tasks_opens_with_its_groups_collapsed(browser, logged_in):
    flow = make_flow("huge", grouped_tasks(51))  # 1 020 tasks
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))
    assert counts(browser) == [51, 50, 0]  # the groups, one after the other
    assert browser.execute_script("return window.ffGraph.state.collapsed.size;") == 51


def test_groups_that_wait_on_each_other_are_drawn_whole(browser, logged_in):
    # Over 500 tasks (laid out for speed, a group at a time), but group a would have to come
    # before group b and b before a: the whole hierarchy is laid out at once instead.
    def chain(group, other, waits_on):
        specs = [TaskSpec(name=group)]
        for i in range(260):
            depends = [f"{group}{i - 1}"] if i else []
            if i in waits_on:
                depends.append(f"{other}{waits_on[i]}")
            specs.append(
                TaskSpec(
                    name=f"{group}{i}",
                    parent=group,
                    function="tests.engine_tasks.echo",
                    depends_on=tuple(depends),
                )
            )
        return specs

    flow = make_flow("tangled", chain("a", "b", {200: 50}) + chain("b", "a", {0: 10}))
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"), timeout=60)
    assert counts(browser) == [522, 2 * 259 + 2, 2]
