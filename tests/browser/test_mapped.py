"""A mapped task in the run graph: one node drawn as a stack with its count and a bar of its
instances' statuses, and a panel that sums them up and lists them a page at a time."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline, run_flow

from .. import engine_tasks as t
from .test_graph import open_graph, set_theme

# The mapped node's style and its stack image (an SVG in a data: URL), decoded.
STACK = """
const node = window.ffGraph.cy.getElementById(arguments[0]);
const url = node.style('background-image');
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
return {
  mapped: node.hasClass('mapped'),
  bar: node.data('bar'),
  label: node.data('label'),
  svg: url.startsWith('data:image/svg+xml;base64,') ? atob(url.split(',')[1]) : url,
  failed: css('--ff-status-failed'),
  succeeded: css('--ff-status-succeeded'),
  nodes: window.ffGraph.cy.nodes().map((n) => n.id()),
};
"""


def rows(panel):
    return panel.find_elements(By.CSS_SELECTOR, "#ff-graph-instances tbody tr")


def cells(row):
    return [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]


def test_the_run_graph_draws_a_mapped_task_as_a_stack_and_pages_its_instances(
    browser, logged_in, screenshot, tmp_path
):
    flow = register_task_pipeline(
        "grid_search",
        {
            "grid": {"function": t.grid, "params": {"count": 60}},
            "train": {
                "function": t.train_one,
                "depends_on": ["grid"],
                "map_over": "grid",
                "params": {"fail_index": 3},
            },
            "best": {"function": t.pick_best, "depends_on": ["train"]},
        },
    )
    run = run_flow(flow, {"marker_dir": str(tmp_path)})
    browser.set_window_size(1280, 900)
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flowrun/{run.pk}/graph/#task=train"))

    drawn = browser.execute_script(STACK, "train")
    assert sorted(drawn["nodes"]) == ["best", "grid", "train"]  # one node, not 60
    assert drawn["mapped"] is True
    assert drawn["bar"] == {"failed": 1, "succeeded": 59}
    assert "×60" in drawn["label"]
    assert drawn["svg"].count("<rect") >= 2 + 1 + 2  # two cards, the bar's track, a segment per status
    assert f'fill="{drawn["failed"]}"' in drawn["svg"]
    assert f'fill="{drawn["succeeded"]}"' in drawn["svg"]
    assert browser.execute_script(STACK, "grid")["mapped"] is False
    exported = browser.execute_script("return window.ffGraph.svgText();")
    assert exported.count('href="data:image/svg+xml;base64,') == 1  # the export keeps the stack

    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 30).until(lambda b: len(rows(panel)) == 50)
    assert "Instances\n60 instances: 59 succeeded, 1 failed" in panel.text
    assert "Attempts" not in panel.text  # the mapped task's own row has no meaningful attempts
    assert "Page 1 of 2" in panel.text
    first = rows(panel)[0]
    assert cells(first)[:3] == ["[0]", "succeeded", "1 of 1"]
    assert cells(rows(panel)[3])[1] == "failed"
    log_link = first.find_element(By.TAG_NAME, "a").get_attribute("href")
    assert log_link.endswith(f"/taskrun/{run.task_runs.get(task_name='train[0]').pk}/log/")
    for theme in ("light", "dark"):
        set_theme(browser, theme)
        screenshot(f"mapped_panel_{theme}")

    panel.find_element(By.XPATH, ".//button[text()='Next ›']").click()
    WebDriverWait(browser, 30).until(lambda b: "Page 2 of 2" in panel.text)
    assert [cells(row)[0] for row in rows(panel)] == [f"[{i}]" for i in range(50, 60)]

    panel.find_element(By.LINK_TEXT, "Task run list").click()
    WebDriverWait(browser, 30).until(lambda b: "train[59]" in b.page_source)
    assert "train[0]" in browser.page_source


def test_the_definition_view_draws_a_mapped_task_as_a_stack_without_a_bar(browser, logged_in):
    flow = register_task_pipeline(
        "grid_defined",
        {
            "grid": {"function": t.grid},
            "train": {"function": t.train_one, "depends_on": ["grid"], "map_over": "grid"},
        },
    )
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))

    drawn = browser.execute_script(STACK, "train")
    assert (drawn["mapped"], drawn["bar"]) == (True, None)
    assert drawn["label"] == "train\n× each item of grid"
    assert "mapped task" in browser.find_element(By.ID, "ff-graph-legend").text
