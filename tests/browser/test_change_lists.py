"""Every change list of the app fits 1 280 px, or shows that it scrolls sideways, in a real headless Chromium."""

import pytest
from django.utils import timezone
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import Flow, FlowRun, FlowSchedule

from .. import engine_tasks as t

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTS = ["flow", "flowrun", "task", "flowschedule", "taskrun"]


@pytest.fixture
def console_data():
    """Flows, runs, tasks, schedules and task runs with names as long as the demo's."""
    flows = [
        register_task_pipeline(
            "demo_pipeline_with_failure",
            {
                "prepare_batch": {"function": t.echo, "verbose_name": "Prepare the batch"},
                "flaky_step": {"function": t.fail, "depends_on": ["prepare_batch"], "retries": 2},
                "send_report": {"function": t.echo, "depends_on": ["flaky_step"]},
            },
            display_name="Pipeline with a failing task",
        ),
        register_task_pipeline(
            "demo_pipeline_simple_ml",
            {
                "generate_data": {"function": t.echo},
                "train_model": {
                    "depends_on": ["generate_data"],
                    "nested_tasks": {
                        "split_data": {"function": t.echo},
                        "fit_linear_model": {"function": t.echo, "depends_on": ["split_data"]},
                    },
                },
            },
            display_name="Simple ML pipeline",
        ),
    ]
    Flow.objects.filter(pk=flows[1].pk).update(is_paused=True, origin=Flow.Origin.IMPORT)
    for flow in flows:
        run_flow(flow)
    FlowRun.objects.update(started_at=timezone.now())
    FlowSchedule.objects.create(
        flow=flows[0], name="nightly report for the sales team", kind="cron", cron="0 2 * * 1-5"
    )
    FlowSchedule.objects.create(flow=flows[0], name="every two hours", kind="minutes", every_minutes=120)
    return flows


def measure(browser):
    """The list table's width, its frame's, and whether the scroll sign shows."""
    return browser.execute_script(
        "const frame = document.querySelector('#changelist-form .results');"
        "const hint = document.getElementById('ff-scroll-hint');"
        "return {table: frame.querySelector('table').scrollWidth, frame: frame.clientWidth,"
        "        hint: !!hint && !hint.hidden && hint.offsetParent !== null,"
        "        rows: frame.querySelectorAll('tbody tr').length};"
    )


@pytest.fixture
def window(browser):
    """Set the window's width for one test; the shared size after."""
    size = browser.get_window_size()
    yield lambda width: browser.set_window_size(width, 900)
    browser.set_window_size(size["width"], size["height"])


@pytest.mark.parametrize("width", [1280, 1440])
def test_every_change_list_fits_the_window_with_the_navigation_open(
    browser, logged_in, console_data, window, width, screenshot
):
    """At 1 280 and 1 440 px, with the admin's navigation and the filters open, no column is cut off."""
    window(width)
    for model in LISTS:
        browser.get(logged_in(f"/admin/flowforge_admin/{model}/"))
        assert browser.execute_script("return !!document.getElementById('nav-sidebar').offsetParent;")
        found = measure(browser)
        assert found["rows"] >= 2, model
        assert found["table"] <= found["frame"], f"{model}: {found}"
        assert not found["hint"], model
        screenshot(f"change_list_{model}_{width}")


def test_a_list_too_wide_for_its_frame_says_so_and_which_way(
    browser, logged_in, console_data, window, screenshot
):
    """Narrower than the columns need, the list shows a hint and a shadow on the side with more columns."""
    window(1000)
    browser.get(logged_in("/admin/flowforge_admin/flow/"))
    found = measure(browser)
    assert found["table"] > found["frame"]
    assert found["hint"]
    frame = "document.querySelector('#changelist-form .results')"
    assert browser.execute_script(f"return {frame}.classList.contains('ff-more-right');")
    assert "right" in browser.execute_script("return document.getElementById('ff-scroll-hint').textContent;")
    screenshot("change_list_scrolls")
    browser.execute_script(f"{frame}.scrollLeft = 10000;")
    WebDriverWait(browser, 5, poll_frequency=0.05).until(
        lambda b: b.execute_script(f"return {frame}.classList.contains('ff-more-left');")
    )
    assert not browser.execute_script(f"return {frame}.classList.contains('ff-more-right');")
    assert "left" in browser.execute_script("return document.getElementById('ff-scroll-hint').textContent;")
