"""The admin import as a person uses it: Import button, upload, preview per flow, confirm."""

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.models import Flow

from ..conftest import DEMO, chain_tasks, make_flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for(browser, selector):
    return WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))


def dark(browser):
    browser.execute_script("document.documentElement.dataset.theme = 'dark'")


def test_import_preview_and_confirm(browser, logged_in, screenshot, tmp_path):
    make_flow("etl", chain_tasks(3), display_name="ETL")
    rows = json.loads(export_flows(Flow.objects.all(), "json"))
    rows = [row for row in rows if row["task"] != "t2"]
    rows[1]["retries"] = 2
    rows.append(
        {"flow": "etl", "task": "load", "parent": "", "function": DEMO + "prepare_batch", "depends_on": "t1"}
    )
    rows.append({"flow": "reports", "task": "make", "parent": "", "function": "", "depends_on": ""})
    path = tmp_path / "flows.json"
    path.write_text(json.dumps(rows))

    browser.get(logged_in("/admin/flowforge_admin/flow/"))
    wait_for(browser, ".ff-import-link").click()
    wait_for(browser, "#flow_import_form input[type=file]").send_keys(str(path))
    browser.find_element(By.CSS_SELECTOR, "#flow_import_form input[type=submit]").click()

    preview = wait_for(browser, "#ff-import-preview")
    flows = {
        row.get_attribute("data-flow"): row
        for row in preview.find_elements(By.CSS_SELECTOR, "tbody tr.ff-import-flow")
    }
    assert flows["etl"].get_attribute("data-status") == "changed"
    assert flows["reports"].get_attribute("data-status") == "created"
    etl = flows["etl"].text
    assert "Tasks added\nload" in etl
    assert "t1 (retries)" in etl
    assert "Tasks removed\nt2" in etl
    assert Flow.objects.get(name="etl").version == 1  # nothing written yet
    screenshot("import_preview")
    dark(browser)
    screenshot("import_preview_dark")

    browser.find_element(By.CSS_SELECTOR, "#flow_import_confirm_form input[name=confirm]").click()

    message = wait_for(browser, ".messagelist .success")
    assert "1 flow(s) created, 1 changed" in message.text
    assert Flow.objects.get(name="etl").version == 2
    assert set(Flow.objects.get(name="etl").tasks.values_list("name", flat=True)) == {"t0", "t1", "load"}
    assert Flow.objects.filter(name="reports").exists()


def test_import_errors_are_shown_by_row_and_column(browser, logged_in, screenshot, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("flow,task,parent,function,depends_on,retries\nnew,a,,os.system,,\nnew,b,,,a,-1\n")

    browser.get(logged_in("/admin/flowforge_admin/flow/import/"))
    wait_for(browser, "#flow_import_form input[type=file]").send_keys(str(path))
    browser.find_element(By.CSS_SELECTOR, "#flow_import_form input[type=submit]").click()

    table = wait_for(browser, "#ff-import-errors")
    cells = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert [cell[:2] for cell in cells] == [["1", "function"], ["2", "retries"]]
    assert not browser.find_elements(By.CSS_SELECTOR, "#flow_import_confirm_form")
    assert not Flow.objects.exists()
    screenshot("import_errors")
    dark(browser)
    screenshot("import_errors_dark")


def test_export_page(browser, logged_in, screenshot):
    make_flow("etl", chain_tasks(2))
    browser.get(logged_in("/admin/flowforge_admin/flow/"))
    wait_for(browser, ".ff-export-link").click()
    wait_for(browser, "#flow_export_form")
    screenshot("export_page")
