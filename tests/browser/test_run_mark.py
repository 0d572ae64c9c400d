"""Marking a task asks for a confirmation, like every other button of the run page (real Chromium)."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline, run_flow

from .. import engine_tasks as t
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def press_mark(browser, which):
    """Open the bad task's Mark… box, give a reason and press Mark ``which``; return the dialog."""
    details = browser.find_element(By.CSS_SELECTOR, "#task-bad details.ff-mark")
    if not details.get_attribute("open"):
        details.find_element(By.TAG_NAME, "summary").click()
    reason = details.find_element(By.NAME, "reason")
    reason.clear()
    reason.send_keys("checked by hand")
    details.find_element(By.CSS_SELECTOR, f"button[value={which}]").click()
    return WebDriverWait(browser, 30).until(ec.alert_is_present())


def test_marking_a_task_asks_first_and_dismissing_changes_nothing(browser, live_server):
    flow = register_task_pipeline(
        "marked", {"bad": {"function": t.fail}, "after": {"function": t.echo, "depends_on": ["bad"]}}
    )
    run = run_flow(flow)
    log_in(browser, live_server, "Operator")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")

    dialog = press_mark(browser, "succeeded")
    assert dialog.text == "Mark task bad succeeded? The tasks waiting for it will run."
    dialog.dismiss()
    assert run.task_runs.get(task_name="bad").status == "failed"
    assert browser.find_elements(By.CSS_SELECTOR, ".messagelist") == []

    press_mark(browser, "succeeded").accept()
    message = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )
    assert "Marked task bad" in message.text
    assert run.task_runs.get(task_name="bad").status == "succeeded"


def test_marking_failed_names_what_it_does(browser, live_server):
    flow = register_task_pipeline("marked_ok", {"bad": {"function": t.echo}})
    run = run_flow(flow)
    log_in(browser, live_server, "Operator")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    dialog = press_mark(browser, "failed")
    assert dialog.text == "Mark task bad failed? The tasks waiting for it will not run."
    dialog.dismiss()
    assert run.task_runs.get(task_name="bad").status == "succeeded"
