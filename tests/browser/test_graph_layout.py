"""The graph page at 1 280 px: the task panel, the legend and the panel's times, in a real headless Chromium."""

import datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import TaskRun

from .test_graph import PIPELINE, open_graph, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STARTED = datetime.datetime(2026, 12, 5, 7, 36, 28, tzinfo=datetime.UTC)


@pytest.fixture
def demo_flow():
    return register_task_pipeline("ml_layout", PIPELINE, display_name="ML layout")


@pytest.fixture
def window_1280(browser):
    """A 1 280 x 900 window, the size the defects were seen at; the shared window size after."""
    size = browser.get_window_size()
    browser.set_window_size(1280, 900)
    yield
    browser.set_window_size(size["width"], size["height"])


def rects(browser, names):
    """Each node's box on the page, and the legend's and the panel's (None when hidden)."""
    return browser.execute_script(
        """
        const frame = document.getElementById('ff-graph-canvas').getBoundingClientRect();
        const page = (box) => ({left: frame.left + box.x1, right: frame.left + box.x2,
                                top: frame.top + box.y1, bottom: frame.top + box.y2});
        const of = (id) => { const el = document.getElementById(id);
          if (el.hidden) return null; const r = el.getBoundingClientRect();
          return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
        const nodes = {};
        for (const name of arguments[0]) nodes[name] = page(window.ffGraph.cy.getElementById(name).renderedBoundingBox());
        return {nodes, legend: of('ff-graph-legend'), panel: of('ff-graph-panel'),
                canvas: {left: frame.left, right: frame.right, top: frame.top, bottom: frame.bottom}};
        """,
        names,
    )


def overlap(a, b):
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def inside(a, b):
    return (
        a["left"] >= b["left"]
        and a["right"] <= b["right"]
        and a["top"] >= b["top"]
        and a["bottom"] <= b["bottom"]
    )


TASKS = ["generate_data", "split_data", "fit_linear_model", "evaluate_model", "publish"]


@pytest.mark.usefixtures("window_1280")
@pytest.mark.parametrize("direction", ["RIGHT", "DOWN"])
def test_every_task_is_drawn_clear_of_the_legend(browser, logged_in, demo_flow, direction, screenshot):
    """Left to right and after switching to top to bottom, no task sits under the legend."""
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    if direction == "DOWN":
        browser.find_element(By.CSS_SELECTOR, "[data-action=direction]").click()
        WebDriverWait(browser, 30).until(
            lambda b: b.execute_script("return window.ffGraph.state.direction") == "DOWN"
        )
        wait_drawn(browser)
    found = rects(browser, TASKS)
    for name, box in found["nodes"].items():
        assert inside(box, found["canvas"]), name
        assert not overlap(box, found["legend"]), name
    screenshot(f"graph_legend_clear_{direction.lower()}")


@pytest.mark.usefixtures("window_1280")
def test_the_panel_lies_over_the_drawing_without_shrinking_it(browser, logged_in, demo_flow, screenshot):
    """Opening the panel keeps the drawing's width and zoom; the selected task stays in the open part."""
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/graph/"))
    before = browser.execute_script("const cy = window.ffGraph.cy; return [cy.width(), cy.zoom()];")
    for name in ["publish", "generate_data"]:
        browser.execute_script("window.ffGraph.select(arguments[0]);", name)
        WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "ff-graph-panel").is_displayed())
        # The pan to the task is animated: wait for it to end.
        WebDriverWait(browser, 10, poll_frequency=0.05).until(
            lambda b: not b.execute_script("return window.ffGraph.cy.animated();")
        )
        assert (
            browser.execute_script("const cy = window.ffGraph.cy; return [cy.width(), cy.zoom()];") == before
        )
        found = rects(browser, [name])
        assert not overlap(found["nodes"][name], found["panel"]), name
        assert not overlap(found["nodes"][name], found["legend"]), name
        assert not overlap(found["legend"], found["panel"])
        screenshot(f"graph_panel_over_{name}")


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("UTC", "2026-12-05 07:36:28 UTC"), ("Europe/Paris", "2026-12-05 08:36:28 Europe/Paris")],
)
def test_the_panel_writes_times_as_the_admin_does_with_the_zone(
    browser, logged_in, demo_flow, settings, zone, shown
):
    """Times in the server's zone, "2026-12-05 07:36:28 UTC", whatever the browser's locale."""
    settings.TIME_ZONE = zone
    run = launch_flow(demo_flow)
    TaskRun.objects.filter(run=run, task_name="generate_data").update(status="running", started_at=STARTED)
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flowrun/{run.pk}/graph/"))
    browser.execute_script("window.ffGraph.select('generate_data');")
    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 10).until(lambda b: "Started" in panel.text)
    assert f"Started\n{shown}" in panel.text
