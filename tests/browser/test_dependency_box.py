"""The dependency box of a task's page offers only tasks it may depend on (real Chromium, Select2)."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Task

from ..conftest import DEMO, make_flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def offered(browser):
    """Open the "depends on" box and return the texts it offers once its search answered."""
    box = browser.find_element(By.CSS_SELECTOR, ".field-depends_on .select2-selection")
    box.click()

    # Read in one script call: Select2 replaces the options while its search answers.
    def loaded(driver):
        return driver.execute_script(
            """
            const options = Array.from(document.querySelectorAll(".select2-results__option"));
            if (!options.length || options.some((o) => o.classList.contains("loading-results"))) {
                return false;
            }
            return options.map((o) => o.textContent);
            """
        )

    return WebDriverWait(browser, 30).until(loaded)


def test_a_nested_task_is_not_offered_itself_its_group_or_a_task_of_another_flow(browser, logged_in):
    flow = make_flow(
        "nested",
        [
            TaskSpec("extract", function=DEMO + "prepare_batch"),
            TaskSpec("stage"),
            TaskSpec("clean", parent="stage", function=DEMO + "prepare_batch"),
            TaskSpec("enrich", parent="stage", function=DEMO + "prepare_batch"),
            TaskSpec("report", function=DEMO + "send_report"),
        ],
    )
    make_flow("elsewhere", [TaskSpec("foreign", function=DEMO + "prepare_batch")])
    clean = Task.objects.get(flow=flow, name="clean")
    browser.get(logged_in(f"/admin/flowforge_admin/task/{clean.pk}/change/"))
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".field-depends_on")))
    assert sorted(offered(browser)) == ["enrich", "extract", "report"]

    stage = Task.objects.get(flow=flow, name="stage")
    browser.get(logged_in(f"/admin/flowforge_admin/task/{stage.pk}/change/"))
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".field-depends_on")))
    assert sorted(offered(browser)) == ["extract", "report"]
