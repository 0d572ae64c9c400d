"""An earlier attempt's outcome on the log page, in a real headless Chromium at 1 280 px, light and dark."""

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from flowforge_admin.api import clear_tasks, register_task_pipeline, run_flow
from flowforge_admin.engine.local import run_in_process

from .. import data_tasks as d
from .. import engine_tasks as t
from .test_log_page import set_theme

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def replaced(tmp_path, settings):
    """flaky (failed once, then succeeded) -> make (an artifact); then make cleared: attempt 2 of each."""
    settings.FLOWFORGE_ARTIFACT_ROOT = tmp_path / "artifacts"
    flow = register_task_pipeline(
        "attempts_page",
        {
            "flaky": {"function": t.fail_first, "retries": 1},
            "make": {"function": d.model, "depends_on": ["flaky"]},
        },
    )
    run = run_flow(flow, {"marker_dir": str(tmp_path)})

    def clear():
        clear_tasks(run, ["make"])
        return run

    run_in_process(clear)
    return {task_run.task_name: task_run for task_run in run.task_runs.all()}


def overflow(browser):
    return browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
    )


def test_an_earlier_attempts_error_and_artifact_read_well_in_both_themes(
    browser, logged_in, screenshot, replaced
):
    browser.set_window_size(1280, 1000)
    pages = {
        "error": (replaced["flaky"], "#ff-error-title"),
        "artifact": (replaced["make"], "#ff-output-title"),
    }
    for name, (task_run, heading) in pages.items():
        path = reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk])
        browser.get(logged_in(f"{path}?attempt=1"))
        title = browser.find_element(By.CSS_SELECTOR, heading)
        assert "of attempt 1" in title.text
        assert browser.find_element(By.CSS_SELECTOR, "[data-ff-earlier]").is_displayed()
        tabs = browser.find_elements(By.CSS_SELECTOR, ".ff-log-attempts a")
        assert [tab.text.split()[:2] for tab in tabs] == [["Attempt", "1"], ["Attempt", "2"]]
        if name == "error":
            browser.find_element(By.CSS_SELECTOR, ".ff-log-error summary").click()
            assert "Traceback" in browser.find_element(By.CSS_SELECTOR, ".ff-traceback pre").text
        else:
            link = browser.find_element(By.CSS_SELECTOR, ".ff-log-output .ff-output-download")
            assert link.get_attribute("href").endswith("?attempt=1")
        for theme in ("light", "dark"):
            set_theme(browser, theme)
            assert overflow(browser) <= 0
            screenshot(f"log-earlier-attempt-{name}-{theme}")
        set_theme(browser, "light")
