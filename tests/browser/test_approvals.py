"""Approving a step in a real browser: from the admin index's count to the decision, and a refusal for others."""

import pytest
from django.contrib.auth.models import Group, User
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine.worker import execute_task
from flowforge_admin.states import TaskState

from .. import engine_tasks as t
from .conftest import PASSWORD, log_in, submit_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "type": "object",
    "properties": {"threshold": {"type": "number", "minimum": 0, "maximum": 1, "title": "Threshold"}},
    "required": ["threshold"],
}


@pytest.fixture
def review():
    flow = register_task_pipeline(
        "reviewed_in_browser",
        {
            "train": {"function": t.echo},
            "review": {
                "depends_on": ["train"],
                "approval": {"group": "Model reviewers", "params_schema": SCHEMA},
            },
            "deploy": {"function": t.echo, "depends_on": ["review"]},
        },
    )
    run = launch_flow(flow)
    execute_task(run.task_runs.get(task_name="train").pk, 1, run.pk)  # as a worker would
    review = run.task_runs.get(task_name="review")
    assert review.status == TaskState.WAITING
    return review


def wait_for_css(browser, selector):
    return WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))


def test_a_member_of_the_group_approves_from_the_admin_index(browser, live_server, review, screenshot):
    reviewer = User.objects.create_user("rita", password=PASSWORD, is_staff=True)
    reviewer.groups.add(Group.objects.get(name="Stakeholder"), Group.objects.create(name="Model reviewers"))
    submit_login(browser, live_server, "rita")
    browser.get(f"{live_server.url}/admin/")
    note = wait_for_css(browser, ".ff-waiting-note a")
    assert note.text == "1 approval step is waiting for you"
    note.click()
    wait_for_css(browser, "a.button[href$='/decide/']").click()
    wait_for_css(browser, "#approval_form")
    screenshot("approval_decision_page")
    browser.find_element(By.NAME, "threshold").send_keys("1.5")
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    error = wait_for_css(browser, ".field-threshold .errorlist")
    assert "1.5 is greater than the maximum of 1" in error.text
    threshold = browser.find_element(By.NAME, "threshold")
    threshold.clear()
    threshold.send_keys("0.8")
    browser.find_element(By.NAME, "approval-comment").send_keys("metrics look right")
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    message = wait_for_css(browser, ".messagelist .success")
    assert message.text == f"Approved task review of run #{review.run_id}: metrics look right"
    review.refresh_from_db()
    assert (review.status, review.output) == (TaskState.SUCCEEDED, {"threshold": 0.8})
    assert review.run.task_runs.get(task_name="deploy").status == TaskState.QUEUED


def test_a_stakeholder_outside_the_group_is_refused(browser, live_server, review):
    log_in(browser, live_server, "Stakeholder")
    browser.get(f"{live_server.url}/admin/flowforge_admin/approval/{review.pk}/decide/")
    assert "403" in browser.title or "Forbidden" in browser.page_source
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{review.run_id}/change/")
    row = wait_for_css(browser, "#task-review")
    assert "waiting for approval by Model reviewers" in row.text
    assert row.find_elements(By.CSS_SELECTOR, ".ff-approve-link") == []
    review.refresh_from_db()
    assert review.status == TaskState.WAITING
