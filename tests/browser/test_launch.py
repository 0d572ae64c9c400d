"""Launching a run from the flow page, as a person does it, in a real headless Chromium."""

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from flowforge_admin import api
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Flow, FlowRun, TaskRun

from ..conftest import DEMO, make_flow
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "type": "object",
    "properties": {
        "region": {
            "type": "string",
            "enum": ["eu", "us", "apac"],
            "title": "Region",
            "description": "Where the warehouse is loaded.",
        },
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 500, "description": "Rows per insert."},
        "dry_run": {"type": "boolean", "default": False, "description": "Check everything, write nothing."},
    },
    "required": ["region"],
}


# (run status, task statuses other than succeeded), oldest first.
HISTORY = [
    ("succeeded", {}),
    ("succeeded", {}),
    ("failed", {"transform": "failed", "join": "failed", "load": "upstream_failed"}),
    ("succeeded", {}),
    ("running", {"transform": "running", "join": "running", "load": "pending"}),
]


@pytest.fixture
def etl():
    flow = make_flow(
        "nightly_etl",
        [
            TaskSpec("extract", function=DEMO + "prepare_batch"),
            TaskSpec("transform", depends_on=("extract",)),
            TaskSpec("clean", parent="transform", function=DEMO + "prepare_batch"),
            TaskSpec("join", parent="transform", function=DEMO + "prepare_batch", depends_on=("clean",)),
            TaskSpec("load", function=DEMO + "prepare_batch", depends_on=("transform",)),
        ],
        display_name="Nightly ETL",
        description="Loads yesterday's orders into the warehouse.",
        params={"batch_size": 100},
        params_schema=SCHEMA,
    )
    # A history for the grid: successes, a failure, a run in progress.
    for run_status, task_statuses in HISTORY:
        run = api.launch_flow(flow, {"region": "eu"})
        FlowRun.objects.filter(pk=run.pk).update(status=run_status)
        TaskRun.objects.filter(run=run).update(status="succeeded")
        for name, status in task_statuses.items():
            TaskRun.objects.filter(run=run, task_name=name).update(status=status)
    return flow


def wait_for(browser, selector):
    return WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))


def dark(browser):
    browser.execute_script("document.documentElement.dataset.theme = 'dark'")


def test_superuser_launches_a_run_from_the_schema_built_form(browser, logged_in, etl, screenshot):
    browser.get(logged_in("/admin/flowforge_admin/flow/"))
    row = wait_for(browser, "#result_list tbody tr")
    assert "running" in row.find_element(By.CSS_SELECTOR, ".field-last_run").text
    screenshot("flow_list_last_run")

    # The list action asks for the parameters of each selected flow.
    browser.find_element(By.CSS_SELECTOR, "#result_list tbody input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("launch_selected")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    wait_for(browser, "#flow_launch_selected_form")
    assert browser.find_element(By.ID, f"id_flow-{etl.pk}-batch_size").get_attribute("value") == "100"
    screenshot("launch_selected")

    browser.get(logged_in(f"/admin/flowforge_admin/flow/{etl.pk}/change/"))
    wait_for(browser, ".object-tools a.ff-runlink")
    screenshot("flow_change_run_button")
    grid = wait_for(browser, ".ff-run-grid")
    assert len(grid.find_elements(By.CSS_SELECTOR, "a.ff-grid-cell")) == 5 * 5
    browser.execute_script("arguments[0].scrollIntoView()", grid)
    screenshot("flow_grid")
    dark(browser)
    screenshot("flow_grid_dark")

    browser.find_element(By.CSS_SELECTOR, ".object-tools a.ff-runlink").click()
    form = wait_for(browser, "#flow_launch_form")
    assert browser.find_element(By.ID, "id_batch_size").get_attribute("value") == "100"
    assert "Where the warehouse is loaded." in form.text
    screenshot("launch_form")
    dark(browser)
    screenshot("launch_form_dark")

    # A value the schema refuses: the message is next to the field, nothing is launched.
    Select(browser.find_element(By.ID, "id_region")).select_by_visible_text("us")
    batch = browser.find_element(By.ID, "id_batch_size")
    batch.clear()
    batch.send_keys("900")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value=Run]").click()
    error = wait_for(browser, ".field-batch_size .errorlist")
    assert error.text == "900 is greater than the maximum of 500"
    assert FlowRun.objects.count() == 5
    screenshot("launch_form_error")

    batch = browser.find_element(By.ID, "id_batch_size")
    batch.clear()
    batch.send_keys("25")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value=Run]").click()
    WebDriverWait(browser, 30).until(ec.url_matches(r"/admin/flowforge_admin/flowrun/\d+/change/$"))

    run = FlowRun.objects.order_by("-id").first()
    assert re.search(rf"/flowrun/{run.pk}/change/$", browser.current_url)
    assert run.params == {"region": "us", "batch_size": 25, "dry_run": False}
    assert run.triggered_by_user.username == "admin"


def test_stakeholder_sees_no_run_button(browser, live_server, etl, screenshot):
    log_in(browser, live_server, "Stakeholder")

    browser.get(f"{live_server.url}/admin/flowforge_admin/flow/{etl.pk}/change/")
    tools = wait_for(browser, ".object-tools")
    # Text as shown (admin writes the tools in capitals).
    assert tools.text.upper().split() == ["GRAPH", "HISTORY"]  # looking, not launching
    assert not browser.find_elements(By.CSS_SELECTOR, "a.ff-runlink")
    # The grid is there for them too: reading is allowed.
    assert browser.find_elements(By.CSS_SELECTOR, ".ff-run-grid a.ff-grid-cell")
    screenshot("flow_change_stakeholder")


def test_paused_flow_shows_a_disabled_run_button_and_why(browser, logged_in, etl, screenshot):
    Flow.objects.filter(pk=etl.pk).update(is_paused=True)

    browser.get(logged_in(f"/admin/flowforge_admin/flow/{etl.pk}/change/"))

    button = wait_for(browser, ".object-tools .ff-tool-disabled")
    assert button.get_attribute("title") == "This flow is paused: resume it before launching a run."
    assert not browser.find_elements(By.CSS_SELECTOR, "a.ff-runlink")
    assert (
        "Resume it before launching a run." in browser.find_element(By.CSS_SELECTOR, ".ff-paused-note").text
    )
    screenshot("flow_change_paused")
