"""An operator backfills a schedule in a real headless Chromium: preview, then create."""

import datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import FlowRun, FlowSchedule

from .. import engine_tasks as t

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def narrow(browser):
    browser.set_window_size(1280, 1000)
    yield browser
    browser.execute_script("document.documentElement.dataset.theme = 'light';")
    browser.set_window_size(1400, 1000)


def fill(browser, name, value):
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def test_operator_previews_and_creates_a_backfill_from_the_schedule_page(narrow, logged_in, screenshot):
    browser = narrow
    flow = register_task_pipeline("reported", {"ok": {"function": t.echo}})
    schedule = FlowSchedule.objects.create(
        flow=flow, name="nightly", kind=FlowSchedule.Kind.DAILY, at_time=datetime.time(2)
    )
    browser.get(logged_in(f"/admin/flowforge_admin/flowschedule/{schedule.pk}/change/"))
    screenshot("schedule_change_backfill_link")
    catchup = browser.find_element(By.CSS_SELECTOR, ".field-catchup")
    assert "up to 50 (FLOWFORGE_CATCHUP_MAX_RUNS" in catchup.text
    browser.execute_script("arguments[0].scrollIntoView();", catchup)
    screenshot("schedule_change_catchup")
    browser.find_element(By.LINK_TEXT, "BACKFILL").click()
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.NAME, "start")))
    fill(browser, "start", "2026-01-01 00:00")
    fill(browser, "end", "2026-01-10 02:00")
    browser.find_element(By.NAME, "_preview").click()
    preview = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".ff-backfill-preview"))
    )
    assert "Will create 10 run(s)" in preview.text
    assert len(preview.find_elements(By.CSS_SELECTOR, ".ff-fire-times li")) == 6  # five dates and "…"
    assert not FlowRun.objects.exists()
    screenshot("schedule_backfill_preview")
    browser.execute_script("document.documentElement.dataset.theme = 'dark';")
    screenshot("schedule_backfill_preview_dark")
    browser.execute_script("document.documentElement.dataset.theme = 'light';")

    browser.find_element(By.NAME, "_confirm").click()
    message = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )
    assert message.text.startswith("Backfill: created 10 run(s)")
    assert FlowRun.objects.filter(triggered_by="backfill").count() == 10
