"""A mapped task on the run page, in a real headless Chromium: its row opens to its instances, paged,
each with its own actions, and the opened list follows the run."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import run_flow
from flowforge_admin.engine.worker import claim, record_success

from ..admin.test_mapped_runs import grid_flow
from .conftest import log_in
from .test_graph import set_theme

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def instance_status(browser, name):
    # Read in one script call: the list is fetched again as the run changes.
    return browser.execute_script(
        "const row = document.querySelector(`#instances-train tr[data-task='${arguments[0]}']`);"
        "return row && row.querySelector('.ff-status').textContent;",
        name,
    )


def open_second_page(browser, status):
    """Open the mapped row's instances, then their second page, where train[55] has ``status``."""
    browser.find_element(By.CSS_SELECTOR, "#task-train .ff-instances-toggle").click()
    WebDriverWait(browser, 30).until(lambda b: instance_status(b, "train[0]") == "succeeded")
    assert instance_status(browser, "train[49]") == "succeeded"
    assert instance_status(browser, "train[50]") is None  # 50 a page
    browser.find_element(By.CSS_SELECTOR, "#instances-train .ff-instance-pages a[data-page='2']").click()
    WebDriverWait(browser, 30).until(lambda b: instance_status(b, "train[55]") == status)


def test_an_operator_opens_a_mapped_tasks_instances_retries_one_and_watches_it_finish(
    browser, live_server, screenshot, tmp_path
):
    flow = grid_flow(count=60, fail_index=55)
    run = run_flow(flow, {"marker_dir": str(tmp_path)})
    log_in(browser, live_server, "Operator")
    browser.set_window_size(1280, 900)
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    toggle = browser.find_element(By.CSS_SELECTOR, "#task-train .ff-instances-toggle")
    assert toggle.text == "59 of 60 succeeded · 1 failed"

    open_second_page(browser, "failed")
    browser.execute_script("document.getElementById('task-train').scrollIntoView();")
    for theme in ("light", "dark"):
        set_theme(browser, theme)
        screenshot(f"run_page_instances_{theme}")

    retry = "#instances-train tr[data-task='train[55]'] form button"
    browser.find_element(By.CSS_SELECTOR, retry).click()
    WebDriverWait(browser, 30).until(ec.alert_is_present()).accept()
    message = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )
    assert "train[55]" in message.text
    assert run.task_runs.get(task_name="train[0]").attempt == 1  # the others stay as they were

    # The list, opened again on its second page, follows the instance as a worker finishes it.
    open_second_page(browser, "queued")
    instance = run.task_runs.get(task_name="train[55]")
    claim(instance.pk, 2, run.pk)
    record_success(run.pk, "train[55]", 2, output={"index": 55, "score": 110})
    WebDriverWait(browser, 30).until(lambda b: instance_status(b, "train[55]") == "succeeded")
    assert (
        "60 of 60 succeeded" in browser.find_element(By.CSS_SELECTOR, "#task-train .ff-instances-toggle").text
    )
