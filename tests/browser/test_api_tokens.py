"""An API token made in the admin, in a real headless Chromium: shown once, never after a reload; revoked."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.models import ApiToken
from flowforge_admin.models.tokens import digest

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stakeholder_creates_a_token_sees_it_once_and_revokes_it(browser, live_server, screenshot):
    log_in(browser, live_server, "Stakeholder")
    browser.get(f"{live_server.url}/admin/flowforge_admin/apitoken/add/")
    browser.find_element(By.NAME, "name").send_keys("Weekly report")
    browser.find_element(By.NAME, "_save").click()

    box = WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, "ff-token-value")))
    token = box.get_attribute("value")
    row = ApiToken.objects.get()
    assert row.key_digest == digest(token)
    assert "will not be shown again" in browser.find_element(By.CSS_SELECTOR, ".ff-token-warning").text
    # The page's address is already the token's own page: a reload asks for it, not for the form again.
    change_url = f"{live_server.url}/admin/flowforge_admin/apitoken/{row.pk}/change/"
    assert browser.current_url == change_url
    screenshot("api_token_created")

    browser.refresh()
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, "apitoken_form")))
    assert browser.current_url == change_url
    assert token not in browser.page_source
    assert row.prefix in browser.find_element(By.CSS_SELECTOR, ".field-starts_with").text
    assert ApiToken.objects.count() == 1
    screenshot("api_token_after_reload")

    # Revoking asks first, then says so.
    browser.find_element(By.CSS_SELECTOR, ".ff-revoke-button").click()
    WebDriverWait(browser, 10).until(ec.alert_is_present()).accept()
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".messagelist")))
    assert "Revoked 1 token." in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert ApiToken.objects.get().status() == ApiToken.Status.REVOKED
