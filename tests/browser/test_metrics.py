"""Metrics in a real headless Chromium: the flow page's chart across runs, the run page's section,
and the compare page reached through the run list's action. Screenshots in both themes at 1 280 px."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import Metric, Tag

from .. import engine_tasks as t

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART = "Chart.getChart(document.getElementById('ff-metrics-chart'))"


@pytest.fixture
def window(browser):
    """1 280 px wide for the test, the shared size after (and the light theme back)."""
    size = browser.get_window_size()
    browser.set_window_size(1280, 1000)
    yield
    set_theme(browser, "light")
    browser.set_window_size(size["width"], size["height"])


def set_theme(browser, theme):
    browser.execute_script("document.documentElement.dataset.theme = arguments[0];", theme)


@pytest.fixture
def trained_runs():
    """Three runs of a training flow, each with a loss per epoch, an accuracy and a tag."""
    flow = register_task_pipeline(
        "trainer",
        {"prepare": {"function": t.echo}, "train": {"function": t.echo, "depends_on": ["prepare"]}},
        display_name="Trainer",
    )
    runs = []
    for i, (alpha, final_loss, accuracy) in enumerate(
        [(0.1, 0.61, 0.71), (0.3, 0.42, 0.83), (0.5, 0.47, 0.80)]
    ):
        run = run_flow(flow, {"alpha": alpha, "seed": 7})
        train = run.task_runs.get(task_name="train")
        Metric.objects.bulk_create(
            Metric(
                run=run,
                task_run=train,
                attempt=1,
                name="loss",
                value=final_loss + 0.1 * (9 - step),
                step=step,
            )
            for step in range(10)
        )
        Metric.objects.create(run=run, task_run=train, attempt=1, name="accuracy", value=accuracy)
        Metric.objects.create(
            run=run, task_run=run.task_runs.get(task_name="prepare"), attempt=1, name="rows", value=1000 + i
        )
        Tag.objects.create(run=run, task_run=train, key="algorithm", value="ridge" if i != 1 else "lasso")
        runs.append(run)
    return flow, runs


def wait_drawn(browser):
    WebDriverWait(browser, 30, poll_frequency=0.1).until(
        lambda b: b.execute_script("return document.querySelector('.ff-metrics-chart').dataset.state;")
    )
    state = browser.execute_script("return document.querySelector('.ff-metrics-chart').dataset.state;")
    assert state == "drawn", browser.get_log("browser")


def test_the_flow_page_draws_one_line_per_metric_over_its_runs(
    browser, logged_in, trained_runs, window, screenshot
):
    flow, runs = trained_runs
    browser.get(logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/change/"))
    wait_drawn(browser)
    drawn = browser.execute_script(
        f"const chart = {CHART};"
        "return {labels: chart.data.labels, names: chart.data.datasets.map(d => d.label),"
        "        values: chart.data.datasets.map(d => d.data), colour: chart.data.datasets[0].borderColor,"
        "        width: chart.width, height: chart.height};"
    )
    assert [label[0] for label in drawn["labels"]] == [f"#{run.pk}" for run in runs]  # oldest left
    assert drawn["names"] == ["accuracy", "loss", "rows"]
    assert drawn["values"][0] == [0.71, 0.83, 0.80]
    assert [round(v, 2) for v in drawn["values"][1]] == [0.61, 0.42, 0.47]  # each run's last step
    assert drawn["width"] > 600
    assert drawn["height"] > 200
    # Row counts near 1 000 beside a loss under 2: each line gets its own scale, the first two shown.
    scales = "return document.querySelector('.ff-metrics-chart').dataset.scales;"
    assert browser.execute_script(scales) == "own"
    axes = f"const chart = {CHART}; return Object.keys(chart.scales).filter(id => chart.scales[id].options.display);"
    assert sorted(browser.execute_script(axes)) == ["x", "y0", "y1"]
    browser.execute_script("document.getElementById('ff-flow-metrics').scrollIntoView();")
    screenshot("metrics_flow_chart")
    browser.find_element(By.CSS_SELECTOR, ".ff-own-scales input").click()
    assert browser.execute_script(scales) == "shared"
    assert sorted(browser.execute_script(axes)) == ["x", "y"]
    screenshot("metrics_flow_chart_shared")
    browser.find_element(By.CSS_SELECTOR, ".ff-own-scales input").click()

    # The colours follow the theme: read again from the CSS palette when it changes.
    set_theme(browser, "dark")
    WebDriverWait(browser, 5, poll_frequency=0.05).until(
        lambda b: b.execute_script(f"return {CHART}.data.datasets[0].borderColor;") != drawn["colour"]
    )
    assert browser.execute_script(f"return {CHART}.data.datasets[0].borderColor;") == browser.execute_script(
        "return getComputedStyle(document.documentElement).getPropertyValue('--ff-series-1').trim();"
    )
    screenshot("metrics_flow_chart_dark")

    # A point leads to its run.
    set_theme(browser, "light")
    browser.execute_script(
        f"const chart = {CHART};"
        "const point = chart.getDatasetMeta(0).data[1];"
        "chart.canvas.dispatchEvent(new MouseEvent('click', {clientX: chart.canvas.getBoundingClientRect().left"
        " + point.x, clientY: chart.canvas.getBoundingClientRect().top + point.y, bubbles: true}));"
    )
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda b: f"/flowrun/{runs[1].pk}/change/" in b.current_url
    )


def test_the_run_page_lists_metrics_and_tags(browser, logged_in, trained_runs, window, screenshot):
    _, runs = trained_runs
    browser.get(logged_in(f"/admin/flowforge_admin/flowrun/{runs[1].pk}/change/"))
    section = browser.find_element(By.ID, "ff-run-metrics")
    rows = [row.text for row in section.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert rows[0].startswith("prepare rows 1001 1")
    assert rows[1].startswith("train accuracy 0.83 1")
    assert rows[2].startswith("train loss 0.42 10 0.42 1.32")
    assert len(section.find_elements(By.CSS_SELECTOR, "svg.ff-sparkline polyline")) == 1
    assert "algorithm = lasso" in section.text
    browser.execute_script("arguments[0].scrollIntoView();", section)
    screenshot("metrics_run_section")
    set_theme(browser, "dark")
    screenshot("metrics_run_section_dark")


def test_the_compare_action_opens_the_runs_side_by_side(browser, logged_in, trained_runs, window, screenshot):
    _, runs = trained_runs
    browser.get(logged_in("/admin/flowforge_admin/flowrun/"))
    for run in runs:
        browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{run.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("compare_selected")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".ff-compare-metrics")
    )
    assert "/flowrun/compare/?ids=" in browser.current_url
    best = {
        row.get_attribute("data-metric"): row.find_element(By.CSS_SELECTOR, ".ff-best").text
        for row in browser.find_elements(By.CSS_SELECTOR, ".ff-compare-metrics tr.ff-metric")
    }
    assert best == {"accuracy": "0.83", "loss": "0.42", "rows": "1002"}
    alpha = browser.find_element(By.CSS_SELECTOR, ".ff-compare-params tr[data-key=alpha]")
    assert len(alpha.find_elements(By.CSS_SELECTOR, "td.ff-differs")) == 3
    seed = browser.find_element(By.CSS_SELECTOR, ".ff-compare-params tr[data-key=seed]")
    assert not seed.find_elements(By.CSS_SELECTOR, "td.ff-differs")
    outputs = {
        row.get_attribute("data-task"): row.find_element(By.CSS_SELECTOR, "td.ff-output").text
        for row in browser.find_elements(By.CSS_SELECTOR, "tr.ff-compare-task")
    }
    assert outputs == {"prepare": "differs", "train": "differs"}  # echo returns the parameters
    assert "Compare" in browser.find_element(By.CSS_SELECTOR, ".breadcrumbs").text
    screenshot("metrics_compare")
    set_theme(browser, "dark")
    screenshot("metrics_compare_dark")
    browser.execute_script("document.querySelector('.ff-compare-tags').scrollIntoView();")
    screenshot("metrics_compare_tasks_dark")
    # The run columns line up from one table to the next.
    lefts = browser.execute_script(
        "return [...document.querySelectorAll('.ff-compare-runs, .ff-compare-params, .ff-compare-metrics')]"
        ".map(box => box.querySelector('thead th:nth-child(3)').getBoundingClientRect().left);"
    )
    assert len(set(lefts)) == 1, lefts
