"""A mapped task in the run graph: one node with its count, and its panel linking to its instances."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline, run_flow

from .. import engine_tasks as t
from .test_graph import open_graph, set_theme


def test_the_run_graph_draws_a_mapped_task_with_its_count_and_links_its_instances(
    browser, logged_in, screenshot, tmp_path
):
    flow = register_task_pipeline(
        "grid_search",
        {
            "grid": {"function": t.grid, "params": {"count": 6}},
            "train": {"function": t.train_one, "depends_on": ["grid"], "map_over": "grid"},
            "best": {"function": t.pick_best, "depends_on": ["train"]},
        },
    )
    run = run_flow(flow, {"marker_dir": str(tmp_path)})
    browser.set_window_size(1280, 900)
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flowrun/{run.pk}/graph/#task=train"))
    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 30).until(lambda b: "6 instances" in panel.text)
    assert "Mapped over\ngrid (each item as item)" in panel.text
    for theme in ("light", "dark"):
        set_theme(browser, theme)
        screenshot(f"mapped_panel_{theme}")
    link = panel.find_element(By.LINK_TEXT, "6 instances")
    link.click()
    WebDriverWait(browser, 30).until(lambda b: "train[5]" in b.page_source)
    assert "train[0]" in browser.page_source
