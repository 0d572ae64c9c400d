"""Refused values in a real headless Chromium: every error shown at once, no invalid cron described as valid."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import FlowRun, FlowSchedule

from .. import engine_tasks as t

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for(browser, selector):
    return WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))


def test_a_cron_that_never_fires_is_refused_and_the_when_preview_says_so(browser, logged_in, screenshot):
    flow = register_task_pipeline("reported", {"ok": {"function": t.echo}})
    schedule = FlowSchedule.objects.create(flow=flow, name="nightly", kind="cron", cron="0 2 * * *")
    browser.get(logged_in(f"/admin/flowforge_admin/flowschedule/{schedule.pk}/change/"))
    cron = wait_for(browser, "input[name='cron']")
    cron.clear()
    cron.send_keys("0 0 31 2 *")
    browser.find_element(By.NAME, "_continue").click()

    error = wait_for(browser, ".field-cron .errorlist")
    assert error.text == (
        "'0 0 31 2 *' never fires: no date matches it (such as day 31 of a month that has 30 days or fewer)."
    )
    when = browser.find_element(By.CSS_SELECTOR, ".field-description").text
    assert "never: '0 0 31 2 *' never fires" in when
    assert "February" not in when
    assert not browser.find_elements(By.CSS_SELECTOR, ".ff-fire-times")
    screenshot("schedule_cron_never_fires")
    schedule.refresh_from_db()
    assert schedule.cron == "0 2 * * *"


def test_launch_form_shows_bad_other_parameters_and_an_out_of_range_field_together(
    browser, logged_in, screenshot
):
    flow = register_task_pipeline(
        "typed",
        {"ok": {"function": t.echo}},
        params_schema={"type": "object", "properties": {"batch": {"type": "integer", "maximum": 500}}},
    )
    browser.get(logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/launch/"))
    wait_for(browser, "#id_batch").send_keys("900")
    browser.find_element(By.ID, "id_extra-params").send_keys('{"ratio": NaN}')
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value=Run]").click()

    batch_error = wait_for(browser, ".field-batch .errorlist")
    extra_error = browser.find_element(By.CSS_SELECTOR, ".field-extra-params .errorlist")
    assert batch_error.text == "900 is greater than the maximum of 500"
    assert extra_error.text.startswith("ratio: NaN is not a number JSON can hold")
    assert not FlowRun.objects.exists()
    screenshot("launch_form_all_errors")
