"""Importing into a flow defined in code: the preview warns, confirming still imports and warns again."""

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.models import Flow

from ..conftest import DEMO, chain_tasks, make_flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for(browser, selector):
    return WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))


def test_the_preview_warns_about_each_flow_defined_in_code(browser, logged_in, screenshot, tmp_path):
    register_task_pipeline("coded", {"a": {"function": DEMO + "prepare_batch"}})
    make_flow("edited", chain_tasks(1))
    rows = json.loads(export_flows(Flow.objects.all(), "json"))
    for flow in ("coded", "edited"):
        rows.append(
            {"flow": flow, "task": "b", "parent": "", "function": DEMO + "prepare_batch", "depends_on": ""}
        )
    path = tmp_path / "flows.json"
    path.write_text(json.dumps(rows))

    browser.get(logged_in("/admin/flowforge_admin/flow/import/"))
    wait_for(browser, "#flow_import_form input[type=file]").send_keys(str(path))
    browser.find_element(By.CSS_SELECTOR, "#flow_import_form input[type=submit]").click()

    preview = wait_for(browser, "#ff-import-preview")
    coded = preview.find_element(By.CSS_SELECTOR, 'tr[data-flow="coded"]')
    edited = preview.find_element(By.CSS_SELECTOR, 'tr[data-flow="edited"]')
    warning = coded.find_element(By.CSS_SELECTOR, ".ff-import-warning")
    assert warning.is_displayed()
    assert "the next manage.py sync_flows puts the code's definition back" in warning.text
    assert edited.find_elements(By.CSS_SELECTOR, ".ff-import-warning") == []
    screenshot("import_preview_code_flow")

    browser.find_element(By.CSS_SELECTOR, "#flow_import_confirm_form input[name=confirm]").click()
    message = wait_for(browser, ".messagelist .warning")
    assert message.text.startswith("Warning: flow coded is defined in code")
    assert Flow.objects.get(name="coded").tasks.filter(name="b").exists()
