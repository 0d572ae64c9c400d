"""A stakeholder reads task outputs in a real headless Chromium: the run page, the graph's panel, the download."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.models import FlowRun, RunEvent

from ..artifact_rows import FILE_BYTES, outputs_flow, with_outputs
from .conftest import log_in
from .test_graph import open_graph, set_theme

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What a reader sees of each task's output once it is opened (its text, as rendered).
SEEN = {
    "make_json": ["dict ·", "model: {…} 2 keys", "rows: 3"],
    "make_array": ["numpy.ndarray · 7.6 MB", "shape 1000 × 3", "dtype float64", "[0.5, 1.25, 2.0, nan, inf"],
    "make_frame": ["pandas.DataFrame · 12.1 KB", "shape 500 × 3", "Paris", "<b>Nice</b>", "… 497 more rows"],
    "make_pair": ["tuple · 300 bytes", "tuple of 2 items", "[7, 8]", "LinearModel(weights"],
    "make_model": ["LinearModel · 2.0 KB", "bias=0.1) <script>x</script>"],
}


@pytest.fixture
def run(settings, tmp_path):
    settings.FLOWFORGE_ARTIFACT_ROOT = tmp_path / "artifacts"
    run = with_outputs(outputs_flow())
    FlowRun.objects.filter(pk=run.pk).update(status="succeeded")  # finished: the page does not poll
    return FlowRun.objects.get(pk=run.pk)


@pytest.fixture
def at_1280(browser):
    size = browser.get_window_size()
    browser.set_window_size(1280, 1000)
    yield browser
    browser.set_window_size(size["width"], size["height"])


def shots(browser, screenshot, name):
    screenshot(name)
    set_theme(browser, "dark")
    screenshot(f"{name}_dark")
    set_theme(browser, "light")


def test_a_stakeholder_opens_each_output_on_the_run_page_and_downloads_one(
    at_1280, live_server, run, screenshot
):
    browser = at_1280
    log_in(browser, live_server, "Stakeholder")
    browser.get(f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/change/")
    for name, texts in SEEN.items():
        details = browser.find_element(By.CSS_SELECTOR, f"#task-{name} details.ff-output")
        summary = details.find_element(By.TAG_NAME, "summary")
        assert texts[0] in summary.text  # type and size, before it is opened
        summary.click()
        WebDriverWait(browser, 10).until(lambda b, details=details: details.get_attribute("open") is not None)
        for text in texts:
            assert text in details.text, (name, text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#task-make_json .ff-output-download")
    link = browser.find_element(By.CSS_SELECTOR, "#task-make_array .ff-output-download")
    assert link.text == "download (7.6 MB)"
    browser.execute_script("document.getElementById('task-make_frame').scrollIntoView({block: 'center'});")
    shots(browser, screenshot, "outputs_run_page")
    # The link, followed with the browser's session: the file's bytes, and the download recorded.
    answer = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(async (r) => done(["
        "  r.status, r.headers.get('content-disposition'), Array.from(new Uint8Array(await r.arrayBuffer()))"
        "]));",
        link.get_attribute("href"),
    )
    assert answer == [200, f'attachment; filename="outputs-{run.pk}-make_array.npy"', list(FILE_BYTES)]
    event = RunEvent.objects.get(run=run, action=RunEvent.Action.DOWNLOAD_ARTIFACT)
    assert event.user.username == "stakeholder"


def test_the_log_page_shows_the_output_above_the_log(at_1280, live_server, run, screenshot):
    browser = at_1280
    log_in(browser, live_server, "Stakeholder")
    task_run = run.task_runs.get(task_name="make_frame")
    browser.get(f"{live_server.url}/admin/flowforge_admin/taskrun/{task_run.pk}/log/")
    section = browser.find_element(By.CSS_SELECTOR, ".ff-log-output")
    for text in SEEN["make_frame"]:
        assert text in section.text
    assert section.find_element(By.CSS_SELECTOR, ".ff-output-download").text == "download (12.1 KB)"
    shots(browser, screenshot, "outputs_log_page")


# What the graph's narrow panel shows of each output (compact: JSON as pretty text).
PANEL_SEEN = {
    "make_array": [
        "shape 1000 × 3",
        "dtype float64",
        "[0.5, 1.25, 2.0, nan, inf, 0, 1, 2, 3, 4, … 2990 more]",
    ],
    "make_json": ['"rows": 3', '"name": "linear"'],
    "make_pair": ["tuple of 2 items", "[7, 8]"],
    "make_model": ["LinearModel(weights=[0.5, 1.5], bias=0.1) <script>x</script>"],
    "make_frame": ["shape 500 × 3", "Paris", "<b>Nice</b>", "… 497 more rows"],
}


def test_the_graph_panel_shows_the_selected_tasks_output(at_1280, live_server, run, screenshot):
    browser = at_1280
    log_in(browser, live_server, "Stakeholder")
    open_graph(browser, f"{live_server.url}/admin/flowforge_admin/flowrun/{run.pk}/graph/")
    panel = browser.find_element(By.ID, "ff-graph-panel")
    for name, texts in PANEL_SEEN.items():
        browser.execute_script("window.ffGraph.select(arguments[0]);", name)
        WebDriverWait(browser, 30, poll_frequency=0.1).until(
            lambda b, name=name: b.execute_script(
                "const box = document.getElementById('ff-graph-output');"
                "return !!box && box.dataset.outputOf === arguments[0] && !!box.querySelector('.ff-output-preview');",
                name,
            )
        )
        assert panel.find_element(By.CSS_SELECTOR, ".ff-graph-output-summary").text.startswith(SEEN[name][0])
        output = panel.find_element(By.ID, "ff-graph-output").text
        for text in texts:
            assert text in output, (name, text)
        downloads = panel.find_elements(By.CSS_SELECTOR, ".ff-output-download")
        task_run = run.task_runs.get(task_name=name)
        if name == "make_json":
            assert not downloads
        else:
            assert (
                downloads[0]
                .get_attribute("href")
                .endswith(f"/flowrun/{run.pk}/tasks/{task_run.pk}/artifact/")
            )
    shots(browser, screenshot, "outputs_graph_panel")
    browser.execute_script("window.ffGraph.select('make_array');")
    WebDriverWait(browser, 30).until(lambda b: "1000 × 3" in panel.text)
    shots(browser, screenshot, "outputs_graph_panel_array")
