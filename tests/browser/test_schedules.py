"""An editor creates a schedule in the admin and sees when it will fire, in a real headless Chromium."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import FlowSchedule

from .. import engine_tasks as t

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_creates_a_weekly_schedule_and_sees_its_next_fire_times(browser, logged_in, screenshot):
    flow = register_task_pipeline("reported", {"ok": {"function": t.echo}})
    browser.get(logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/change/"))
    browser.find_element(By.LINK_TEXT, "Add a schedule").click()
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.NAME, "name"))).send_keys(
        "weekly report"
    )
    browser.find_element(By.CSS_SELECTOR, "input[name='kind'][value='weekly']").click()
    # Only the fields of the chosen kind show.
    assert browser.find_element(By.CSS_SELECTOR, ".form-row.field-cron").get_attribute("hidden") == "true"
    assert browser.find_element(By.CSS_SELECTOR, ".form-row.field-weekday").is_displayed()
    time_field = browser.find_element(By.NAME, "at_time")
    time_field.clear()
    time_field.send_keys("06:30")
    browser.find_element(By.CSS_SELECTOR, "select[name='weekday'] option[value='0']").click()
    screenshot("schedule_add")
    browser.find_element(By.NAME, "_continue").click()

    fire_times = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".ff-fire-times"))
    )
    items = fire_times.find_elements(By.TAG_NAME, "li")
    assert len(items) == 5
    assert all(item.text.endswith("06:30 UTC") for item in items)
    assert "every Monday at 06:30 UTC" in browser.find_element(By.CSS_SELECTOR, ".field-description").text
    schedule = FlowSchedule.objects.get()
    assert [moment.weekday() for moment in schedule.next_fire_times(5)] == [0] * 5
    screenshot("schedule_change")

    browser.get(logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/change/"))
    assert "weekly report" in browser.find_element(By.CSS_SELECTOR, ".ff-schedules").text
