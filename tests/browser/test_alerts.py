"""The flow page's Alerts show each alert's own channel section, and follow a change of channel."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from flowforge_admin.api import register_task_pipeline

from .. import engine_tasks as t
from .test_graph import set_theme


def visible_sections(alert):
    return [
        fieldset.find_element(By.CLASS_NAME, "fieldset-heading").text.lower()
        for fieldset in alert.find_elements(By.CSS_SELECTOR, "fieldset[class*='ff-alert-']")
        if fieldset.is_displayed()
    ]


def test_each_alert_shows_the_section_of_its_channel(browser, logged_in, screenshot):
    flow = register_task_pipeline(
        "alerted",
        {"a": {"function": t.echo}},
        alerts=[
            {"name": "mail", "on": ["run_failed"], "email": ["ops@example.com"]},
            {"name": "hook", "on": ["run_failed"], "webhook": "https://hooks.example.com/x"},
        ],
    )
    browser.set_window_size(1280, 900)
    browser.get(logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/change/"))
    alerts = {
        alert.find_element(By.CSS_SELECTOR, "input[name$='-name']").get_attribute("value"): alert
        for alert in browser.find_elements(By.CSS_SELECTOR, ".ff-alerts .inline-related:not(.empty-form)")
    }
    mail, hook = alerts["mail"], alerts["hook"]

    assert visible_sections(mail) == ["e-mail"]
    assert visible_sections(hook) == ["webhook"]
    for theme in ("light", "dark"):
        set_theme(browser, theme)
        screenshot(f"flow_alerts_{theme}")

    Select(mail.find_element(By.CSS_SELECTOR, "select[name$='-channel']")).select_by_value("callable")
    assert visible_sections(mail) == ["python callable"]
