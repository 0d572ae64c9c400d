"""The Clear button on the run page and in the run graph's panel (real Chromium).

A run made in process (run_flow) is finished; the clear leaves its tasks
queued or pending (no cluster runs them), which is what the tests look at.
"""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline, run_flow

from .. import engine_tasks as t
from .conftest import log_in
from .test_graph import set_theme, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def run():
    flow = register_task_pipeline(
        "to_clear",
        {
            "load": {"function": t.echo},
            "train": {
                "depends_on": ["load"],
                "nested_tasks": {"fit": {"function": t.echo}},
            },
            "report": {"function": t.echo, "depends_on": ["train"]},
        },
    )
    return run_flow(flow)


@pytest.fixture
def narrow(browser):
    browser.set_window_size(1280, 1000)
    yield browser
    set_theme(browser, "light")
    browser.set_window_size(1400, 1000)


def statuses(run):
    return dict(run.task_runs.values_list("task_name", "status"))


def open_clear(browser, name):
    details = browser.find_element(By.CSS_SELECTOR, f"#task-{name} details.ff-clear")
    if not details.get_attribute("open"):
        details.find_element(By.TAG_NAME, "summary").click()
    return details


def wait_message(browser):
    return WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )


def test_clear_on_the_run_page_asks_first_then_runs_the_task_and_its_downstream(
    narrow, live_server, run, screenshot
):
    browser = narrow
    log_in(browser, live_server, "Operator")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    details = open_clear(browser, "load")
    checkbox = details.find_element(By.CSS_SELECTOR, "input[type=checkbox][name=downstream]")
    assert checkbox.is_selected()  # with the downstream, by default
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", details)
    screenshot("clear_run_page")
    set_theme(browser, "dark")
    screenshot("clear_run_page_dark")
    set_theme(browser, "light")

    details.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    dialog = WebDriverWait(browser, 30).until(ec.alert_is_present())
    assert dialog.text == "Clear task load? It runs again as a new attempt."
    dialog.dismiss()
    assert set(statuses(run).values()) == {"succeeded"}

    details.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(ec.alert_is_present()).accept()
    assert "Cleared tasks load and what waits for them" in wait_message(browser).text
    after = statuses(run)
    assert after["load"] == "queued"
    assert {after["train"], after["fit"], after["report"]} == {"pending"}


def test_clear_without_the_downstream_leaves_it_as_it_was(narrow, live_server, run):
    browser = narrow
    log_in(browser, live_server, "Operator")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    details = open_clear(browser, "report")
    details.find_element(By.CSS_SELECTOR, "input[type=checkbox][name=downstream]").click()
    details.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(ec.alert_is_present()).accept()
    assert "Cleared tasks report of run" in wait_message(browser).text
    after = statuses(run)
    assert after["report"] == "queued"
    assert {after["load"], after["train"], after["fit"]} == {"succeeded"}


def test_clear_in_the_graph_panel_clears_the_group_and_comes_back_to_the_graph(
    narrow, live_server, run, screenshot
):
    browser = narrow
    log_in(browser, live_server, "Operator")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/graph/")
    wait_drawn(browser)
    browser.execute_script("window.ffGraph.select('train');")
    panel = browser.find_element(By.ID, "ff-graph-panel")
    clear = WebDriverWait(browser, 30).until(
        lambda b: panel.find_element(By.CSS_SELECTOR, "details.ff-graph-clear")
    )
    clear.find_element(By.TAG_NAME, "summary").click()
    checkbox = clear.find_element(By.CSS_SELECTOR, "input[type=checkbox][name=downstream]")
    assert checkbox.is_selected()
    checkbox.click()  # only the group
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", clear)
    screenshot("clear_graph_panel")
    set_theme(browser, "dark")
    screenshot("clear_graph_panel_dark")
    set_theme(browser, "light")

    clear.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    dialog = WebDriverWait(browser, 30).until(ec.alert_is_present())
    assert dialog.text == "Clear group train? Its tasks run again as new attempts."
    dialog.accept()
    assert "Cleared tasks train of run" in wait_message(browser).text
    assert browser.current_url.endswith(f"/flowrun/{run.pk}/graph/")
    after = statuses(run)
    assert after["fit"] == "queued"
    assert (after["load"], after["report"]) == ("succeeded", "succeeded")


def test_a_stakeholder_sees_no_clear_in_the_graph_panel(browser, live_server, run):
    log_in(browser, live_server, "Stakeholder")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/graph/")
    wait_drawn(browser)
    browser.execute_script("window.ffGraph.select('load');")
    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 30).until(lambda b: "Logs" in panel.text)
    assert panel.find_elements(By.CSS_SELECTOR, "details.ff-graph-clear") == []
