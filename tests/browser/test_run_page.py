"""An operator watches a run on a real worker from the run page, in a real headless Chromium."""

import io

import pytest
from django.core.management import call_command
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.engine.worker import claim, record_success
from flowforge_admin.models import Flow, FlowRun

from .. import engine_tasks as t
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def status_of(browser, task_name):
    # Read in one script call: the page swaps rows in as they change.
    return browser.execute_script(
        "const badge = document.querySelector(arguments[0]); return badge && badge.textContent;",
        f"#task-{task_name} .ff-status",
    )


def test_operator_watches_a_run_finish_without_reloading(browser, live_server, cluster, screenshot):
    flow = register_task_pipeline(
        "watched",
        {
            "first": {"function": t.talk, "params": {"lines": 4, "seconds": 0.5}},
            "second": {"function": t.talk, "depends_on": ["first"], "params": {"lines": 2, "seconds": 0.5}},
        },
    )
    log_in(browser, live_server, "Operator")
    run = launch_flow(flow)
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    # A mark on the window: a reload would lose it.
    browser.execute_script("window.ffNotReloaded = true;")
    wait = WebDriverWait(browser, 60, poll_frequency=0.1)
    seen = set()

    def watch(_):
        status = status_of(browser, "second")
        seen.add(status)
        return status == "succeeded"

    wait.until(lambda b: status_of(b, "first") == "running")
    screenshot("run_page_running")
    wait.until(watch)
    assert {"pending", "succeeded"} <= seen
    wait.until(
        lambda b: b.find_element(By.CSS_SELECTOR, ".ff-run-page").get_attribute("data-finished") == "true"
    )
    assert browser.find_element(By.CSS_SELECTOR, ".ff-run-state .ff-status").text == "succeeded"
    assert browser.execute_script("return window.ffNotReloaded === true;")
    assert browser.find_elements(By.CSS_SELECTOR, ".ff-gantt rect.ff-bar-succeeded")
    screenshot("run_page_finished")

    browser.find_element(By.CSS_SELECTOR, "#task-first .ff-task-actions a").click()
    wait.until(lambda b: "first log line 3" in b.find_element(By.TAG_NAME, "body").text)
    screenshot("run_page_log")


def test_operator_launches_the_demo_flow_from_its_form_and_watches_it(
    browser, live_server, cluster, screenshot
):
    """The whole path of an operator: flow page, Run, a changed parameter, the live run, a log."""
    call_command("sync_flows", stdout=io.StringIO())
    flow = Flow.objects.get(name="demo_pipeline_simple_ml")
    log_in(browser, live_server, "Operator")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flow/{flow.pk}/change/")
    browser.find_element(By.CSS_SELECTOR, "a.ff-runlink").click()
    field = WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.NAME, "n_points")))
    field.clear()
    field.send_keys("300")
    browser.find_element(By.NAME, "_launch").click()
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".ff-run-page")))
    run = FlowRun.objects.get()
    assert browser.current_url.endswith(f"/flowrun/{run.pk}/change/")
    assert run.params["n_points"] == 300
    assert (run.triggered_by, run.triggered_by_user.username) == ("user", "operator")
    browser.execute_script("window.ffNotReloaded = true;")
    WebDriverWait(browser, 60, poll_frequency=0.1).until(
        lambda b: b.find_element(By.CSS_SELECTOR, ".ff-run-page").get_attribute("data-finished") == "true"
    )
    assert browser.execute_script("return window.ffNotReloaded === true;")
    assert status_of(browser, "evaluate_model") == "succeeded"
    browser.find_element(By.CSS_SELECTOR, "#task-generate_data .ff-task-actions a").click()
    WebDriverWait(browser, 30).until(
        lambda b: "generated 300 points" in b.find_element(By.TAG_NAME, "body").text
    )
    screenshot("demo_run_log")


def test_operator_retries_a_failed_task_with_a_confirmation(browser, live_server, screenshot):
    flow = register_task_pipeline(
        "retried", {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}}
    )
    run = run_flow(flow)
    log_in(browser, live_server, "Operator")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    # Dismissing the confirmation changes nothing.
    browser.find_element(By.CSS_SELECTOR, "#task-bad form button").click()
    WebDriverWait(browser, 30).until(ec.alert_is_present()).dismiss()
    assert run.task_runs.get(task_name="bad").status == "failed"
    browser.find_element(By.CSS_SELECTOR, "#task-bad form button").click()
    WebDriverWait(browser, 30).until(ec.alert_is_present()).accept()
    message = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )
    assert "Retrying task bad" in message.text
    assert run.task_runs.get(task_name="bad").status == "queued"
    screenshot("run_page_retried")


def test_stakeholder_sees_the_run_but_no_buttons(browser, live_server):
    flow = register_task_pipeline("looked_at", {"bad": {"function": t.fail}})
    run = run_flow(flow)
    log_in(browser, live_server, "Stakeholder")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    assert status_of(browser, "bad") == "failed"
    assert browser.find_elements(By.CSS_SELECTOR, ".ff-run-page form") == []
    assert browser.find_elements(By.CSS_SELECTOR, ".ff-run-page button") == []


def test_a_large_run_pages_its_tasks_and_updates_a_changed_row_live(browser, live_server, screenshot):
    """150 tasks: page 1 shows 100, a task changed by a worker updates in place, page 2 and a filter work."""
    flow = register_task_pipeline("wide", {f"t{i}": {"function": t.echo} for i in range(150)})
    run = launch_flow(flow)  # every task queued; nothing runs them but this test
    log_in(browser, live_server, "Operator")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#ff-run-tasks tbody > tr")
    assert [row.get_attribute("id") for row in rows] == [f"task-t{i}" for i in range(100)]
    browser.execute_script("window.ffNotReloaded = true;")
    wait = WebDriverWait(browser, 30, poll_frequency=0.1)

    claim(run.task_runs.get(task_name="t5").pk, 1, run.pk)
    wait.until(lambda b: status_of(b, "t5") == "running")
    record_success(run.pk, "t5", 1, output={"answer": 42})
    wait.until(lambda b: status_of(b, "t5") == "succeeded")
    output = browser.find_element(By.CSS_SELECTOR, "#task-t5 .ff-output")
    assert "answer" in output.get_attribute("textContent")
    assert status_of(browser, "t6") == "queued"
    assert browser.execute_script("return window.ffNotReloaded === true;")
    screenshot("run_page_large")

    browser.find_element(By.CSS_SELECTOR, ".ff-task-pages a[href='?tasks=2']").click()
    wait.until(lambda b: b.current_url.endswith("?tasks=2"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#ff-run-tasks tbody > tr")
    assert [row.get_attribute("id") for row in rows] == [f"task-t{i}" for i in range(100, 150)]
    browser.execute_script("window.ffNotReloaded = true;")
    claim(run.task_runs.get(task_name="t120").pk, 1, run.pk)
    wait.until(lambda b: status_of(b, "t120") == "running")
    assert browser.execute_script("return window.ffNotReloaded === true;")

    # A counter in the summary filters the table by its status.
    browser.find_element(By.CSS_SELECTOR, "a.ff-count-filter[href='?task_status=succeeded']").click()
    wait.until(lambda b: b.current_url.endswith("?task_status=succeeded"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#ff-run-tasks tbody > tr")
    assert [row.get_attribute("id") for row in rows] == ["task-t5"]
    # A task entering the filter joins the table live.
    claim(run.task_runs.get(task_name="t7").pk, 1, run.pk)
    record_success(run.pk, "t7", 1, output=None)
    wait.until(lambda b: status_of(b, "t7") == "succeeded")
