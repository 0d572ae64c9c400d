"""A read-only user (Stakeholder) is offered no control they cannot use, in a real headless Chromium."""

import pytest
from selenium.webdriver.common.by import By

from flowforge_admin.api import register_task_pipeline

from .. import engine_tasks as t
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def code_flow():
    """A flow defined in code, with a group, as register_task_pipeline stores it."""
    return register_task_pipeline(
        "read_only_tree",
        {
            "extract": {"function": t.echo},
            "transform": {
                "depends_on": ["extract"],
                "nested_tasks": {
                    "clean": {"function": t.echo},
                    "join": {"function": t.echo, "depends_on": ["clean"]},
                },
            },
        },
    )


def texts(browser, selector):
    return [element.text for element in browser.find_elements(By.CSS_SELECTOR, selector)]


def visible_rows(browser):
    return browser.execute_script(
        "return [...document.querySelectorAll('#result_list tbody tr')].filter(r => r.offsetParent).length;"
    )


def test_a_stakeholder_sees_no_edit_controls_on_a_flow_and_its_task_list(
    browser, live_server, code_flow, screenshot
):
    """No "defined in code" warning, no drag-and-drop link, no drag handles; the tree still folds."""
    log_in(browser, live_server, "Stakeholder")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flow/{code_flow.pk}/change/")
    assert not browser.find_elements(By.CSS_SELECTOR, ".ff-code-note")
    assert "sync_flows" not in browser.find_element(By.ID, "content").text
    assert texts(browser, ".ff-task-list-link") == ["All tasks of this flow"]
    assert "drag and drop" not in browser.find_element(By.ID, "content").text
    assert not browser.find_elements(By.CSS_SELECTOR, ".ff-tree-links .addlink")
    screenshot("read_only_flow")

    browser.find_element(By.CSS_SELECTOR, ".ff-task-list-link").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#result_list .tree-node")
    assert not browser.find_elements(By.CSS_SELECTOR, ".drag-handle")
    # In the page itself: the sidebar rightly offers a Stakeholder to add his own API token.
    assert not browser.find_elements(By.CSS_SELECTOR, "#content .ff-import-link, #content .addlink")
    screenshot("read_only_task_list")
    # Folding the group still works without the handles.
    assert visible_rows(browser) == 4
    browser.find_element(By.CSS_SELECTOR, "#result_list .tree-node.children").click()
    assert visible_rows(browser) == 2


def test_an_editor_keeps_the_edit_controls(browser, live_server, code_flow):
    """The same pages for an Editor: the warning, the drag-and-drop link and the handles."""
    log_in(browser, live_server, "Editor")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flow/{code_flow.pk}/change/")
    assert "sync_flows" in browser.find_element(By.CSS_SELECTOR, ".ff-code-note").text
    assert texts(browser, ".ff-task-list-link") == ["Edit the tree (drag and drop)"]
    browser.find_element(By.CSS_SELECTOR, ".ff-task-list-link").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result_list .drag-handle")) == 4
