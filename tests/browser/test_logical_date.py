"""The logical date in a real headless Chromium: typed in the launch form, shown on the run page."""

import datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import FlowRun

from .. import engine_tasks as t

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def set_theme(browser, theme):
    browser.execute_script("document.documentElement.dataset.theme = arguments[0];", theme)


@pytest.fixture
def flow():
    return register_task_pipeline("dated", {"dates": {"function": t.dates}}, params={"region": "eu"})


def test_a_logical_date_typed_in_the_launch_form_is_the_run_s(browser, logged_in, flow, screenshot):
    browser.set_window_size(1280, 900)
    browser.get(logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/launch/"))
    field = browser.find_element(By.NAME, "logical-date")
    field.send_keys("31/31/2026")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value=Run]").click()
    error = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".field-logical-date .errorlist"))
    )
    assert "such as 2026-01-31" in error.text
    screenshot("launch_logical_date_error")
    set_theme(browser, "dark")
    screenshot("launch_logical_date_error_dark")
    set_theme(browser, "light")
    assert not FlowRun.objects.exists()

    field = browser.find_element(By.NAME, "logical-date")
    field.clear()
    field.send_keys("2026-01-31 06:00")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value=Run]").click()
    summary = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".ff-run-logical"))
    )
    assert "logical date 2026-01-31 06:00:00" in summary.text
    assert FlowRun.objects.get().logical_date == datetime.datetime(2026, 1, 31, 6, tzinfo=datetime.UTC)


def test_run_page_and_list_show_the_logical_date(browser, logged_in, flow, screenshot):
    browser.set_window_size(1280, 900)
    day = datetime.datetime(2026, 1, 20, 6, tzinfo=datetime.UTC)
    run = launch_flow(flow, logical_date=day, data_interval=(day - datetime.timedelta(days=1), day))
    browser.get(logged_in(f"/admin/flowforge_admin/flowrun/{run.pk}/change/"))
    summary = browser.find_element(By.CSS_SELECTOR, ".ff-run-logical")
    assert "data interval 2026-01-19 06:00:00 – 2026-01-20 06:00:00" in summary.text
    screenshot("run_page_logical_date")
    set_theme(browser, "dark")
    screenshot("run_page_logical_date_dark")
