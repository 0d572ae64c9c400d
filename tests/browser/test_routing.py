"""A routed task's queue on the pages that describe it: the graph's panel and the flow's task list."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline

from .. import engine_tasks as t
from .test_graph import open_graph, set_theme


def test_the_panel_and_the_flow_page_show_a_tasks_queue(browser, logged_in, screenshot):
    flow = register_task_pipeline(
        "routed",
        {
            "train": {"function": t.echo, "queue": "gpu"},
            "report": {"function": t.echo, "depends_on": ["train"]},
        },
    )
    browser.set_window_size(1280, 900)
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/#task=train"))
    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 30).until(lambda b: "Queue" in panel.text)
    assert "Queue\ngpu" in panel.text
    for theme in ("light", "dark"):
        set_theme(browser, theme)
        screenshot(f"routing_panel_{theme}")

    browser.get("about:blank")
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/#task=report"))
    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 30).until(lambda b: "report" in panel.text and "Queue" in panel.text)
    assert "Queue\nthe project's cluster" in panel.text

    browser.get(logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/change/"))
    row = browser.find_element(By.XPATH, "//th[@scope='row'][a[text()='train']]")
    assert "queue gpu" in row.text
    for theme in ("light", "dark"):
        set_theme(browser, theme)
        screenshot(f"routing_flow_page_{theme}")
    train = flow.tasks.get(name="train")
    browser.get(logged_in(f"/admin/flowforge_admin/task/{train.pk}/change/"))
    field = browser.find_element(By.NAME, "queue")
    assert field.get_attribute("value") == "gpu"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
    for theme in ("light", "dark"):
        set_theme(browser, theme)
        screenshot(f"routing_task_form_{theme}")
