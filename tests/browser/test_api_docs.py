"""The REST API's interactive docs (Swagger UI) in a real headless Chromium: every endpoint listed,
every file from the server itself (drf-spectacular-sidecar, no CDN), "Try it out" with the admin session."""

from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline

from .. import engine_tasks as t
from ..api.conftest import api_paths
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_list_every_endpoint_from_local_files_only(browser, live_server, screenshot):
    register_task_pipeline("documented", {"a": {"function": t.echo}})
    log_in(browser, live_server, "Operator")
    browser.set_window_size(1280, 1000)
    try:
        browser.get(f"{live_server.url}/api/v1/docs/")
        WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
        paths = {
            element.get_attribute("data-path")
            for element in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        }
        screenshot("api-docs")
        hosts = browser.execute_script(
            "return performance.getEntriesByType('resource').map(entry => entry.name)"
            ".concat([...document.querySelectorAll('script[src], link[href], img[src]')]"
            ".map(element => element.src || element.href));"
        )
        # The docs page's own session reads the API (what "Try it out" sends).
        answer = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/api/v1/flows/', {credentials: 'same-origin'})"
            ".then(response => response.json().then(body => done([response.status, body.count])));"
        )
    finally:
        browser.set_window_size(1400, 1000)

    expected = api_paths()
    assert paths == expected, sorted(expected ^ paths)
    assert "/api/v1/flows/{name}/runs/" in paths
    assert hosts
    assert {urlsplit(url).netloc for url in hosts} == {urlsplit(live_server.url).netloc}, hosts
    assert answer == [200, 1]
