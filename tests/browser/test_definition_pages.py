"""The definition pages as a person sees them, in a real headless Chromium."""

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Flow, Task

from ..conftest import DEMO, make_flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_flow():
    return make_flow(
        "ml_demo",
        [
            TaskSpec("generate_data", function=DEMO + "generate_data", verbose_name="Generate data"),
            TaskSpec(
                "train_model",
                function=DEMO + "train_model",
                verbose_name="Train model",
                depends_on=("generate_data",),
            ),
            TaskSpec("split_data", parent="train_model", function=DEMO + "split_data"),
            TaskSpec(
                "fit_linear_model",
                parent="train_model",
                function=DEMO + "fit_linear_model",
                depends_on=("split_data",),
            ),
            TaskSpec("evaluate_model", function=DEMO + "evaluate_model", depends_on=("train_model",)),
        ],
        display_name="ML demo",
    )


def wait_for(browser, selector):
    return WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))


def test_flow_list_and_change_page_show_the_task_tree(browser, logged_in, demo_flow, screenshot):
    browser.get(logged_in("/admin/flowforge_admin/flow/"))
    row = wait_for(browser, "#result_list tbody tr")
    assert "ml_demo" in row.text
    assert "5" in row.find_element(By.CSS_SELECTOR, ".field-task_count").text
    screenshot("flow_list")

    browser.get(logged_in(f"/admin/flowforge_admin/flow/{demo_flow.pk}/change/"))
    rows = browser.find_elements(By.CSS_SELECTOR, ".ff-task-tree tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "th a").text for r in rows] == [
        "generate_data",
        "train_model",
        "split_data",
        "fit_linear_model",
        "evaluate_model",
    ]
    # Nested tasks are indented under their group.
    x = {
        r.find_element(By.CSS_SELECTOR, "th a").text: r.find_element(By.CSS_SELECTOR, "th a").location["x"]
        for r in rows
    }
    assert x["split_data"] > x["train_model"] == x["generate_data"]
    screenshot("flow_change")


def drag(browser, source, target, offset_y):
    """Drag a tree row's handle onto another row, as a person does with the mouse."""
    actions = ActionChains(browser)
    actions.move_to_element(source).click_and_hold().pause(0.3).move_by_offset(0, 5).pause(0.2)
    actions.move_to_element(target).pause(0.3)
    actions.move_to_element_with_offset(target, 0, offset_y).pause(0.3).release().perform()


def test_drag_that_breaks_a_rule_is_refused_with_a_message(browser, logged_in, demo_flow, screenshot):
    """Dragging generate_data into train_model (which depends on it) would make a cycle."""
    url = logged_in(f"/admin/flowforge_admin/task/?flow__id__exact={demo_flow.pk}")
    message = None
    # A drag is a handful of synthetic mouse events; on a busy machine one can
    # be missed before django-mptt sees a drop, so a drag that sent nothing is
    # tried again (a refusal, or an accepted move, ends the loop).
    for _ in range(3):
        browser.get(url)
        # django-mptt's script marks groups once it has bound its drag handlers.
        wait_for(browser, "#result_list .tree-node.children")
        rows = {
            row.find_element(By.CSS_SELECTOR, ".field-indented_title").text: row
            for row in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
        }
        assert {"Generate data", "Train model", "split_data"} <= rows.keys()
        drag(
            browser,
            rows["Generate data"].find_element(By.CSS_SELECTOR, ".drag-handle"),
            rows["split_data"],
            0,
        )
        try:
            message = WebDriverWait(browser, 10).until(
                ec.presence_of_element_located((By.CSS_SELECTOR, ".messagelist li"))
            )
            break
        except TimeoutException:
            continue
    assert message is not None, "no drop reached the server"
    assert "error" in message.get_attribute("class")
    assert "cycle" in message.text
    screenshot("task_tree_refused_move")
    task = Task.objects.get(name="generate_data")
    assert task.parent is None
    assert Flow.objects.get(pk=demo_flow.pk).version == 1
