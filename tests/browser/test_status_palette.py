"""One status palette: badges, the grid, the run page's chart and the DAG drawing agree, in both themes."""

import pytest
from django.utils import timezone
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import FlowRun, TaskRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .test_graph import wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TASK_STATES = [state.value for state in TaskState]
RUN_STATES = [state.value for state in RunState]
# Normalise any CSS colour to the browser's rgb() form, without spaces.
RGB = """
const probe = document.createElement('span');
document.body.append(probe);
const rgb = (value) => { probe.style.color = ''; probe.style.color = value;
  return getComputedStyle(probe).color.replace(/\\s/g, ''); };
"""


@pytest.fixture
def palette_run():
    """A run with one task in each task state (all started, so each has a chart bar)."""
    flow = register_task_pipeline("palette", {state: {"function": t.echo} for state in TASK_STATES})
    run = launch_flow(flow)
    now = timezone.now()
    for state in TASK_STATES:
        TaskRun.objects.filter(run=run, task_name=state).update(status=state, started_at=now, finished_at=now)
    FlowRun.objects.filter(pk=run.pk).update(status=RunState.FAILED, started_at=now, finished_at=now)
    # One more run per run state, for the run list's badges and the grid's column heads.
    others = {state: launch_flow(flow) for state in RUN_STATES}
    for state, other in others.items():
        FlowRun.objects.filter(pk=other.pk).update(status=state)
    return run


def set_theme(browser, theme):
    browser.execute_script("localStorage.setItem('theme', arguments[0])", theme)


@pytest.fixture(autouse=True)
def back_to_auto_theme(browser, live_server):
    """The browser is shared by the session: leave the admin's theme as other tests expect it."""
    yield
    browser.get(f"{live_server.url}/admin/login/")
    browser.execute_script("localStorage.removeItem('theme')")


def palette(browser, states):
    """The palette's own values (--ff-status-<state>) as rgb()."""
    return browser.execute_script(
        RGB
        + "const root = getComputedStyle(document.documentElement);"
        + "const out = {}; for (const s of arguments[0]) out[s] = rgb(root.getPropertyValue('--ff-status-' + s).trim());"
        + "probe.remove(); return out;",
        states,
    )


def colours(browser, selector_template, prop, states):
    """The computed ``prop`` of the first element matching the template, per state, as rgb()."""
    return browser.execute_script(
        RGB
        + "const out = {}; for (const s of arguments[0]) {"
        + "  const node = document.querySelector(arguments[1].replaceAll('{s}', s));"
        + "  out[s] = node ? rgb(getComputedStyle(node)[arguments[2]]) : null; }"
        + "probe.remove(); return out;",
        states,
        selector_template,
        prop,
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_status_has_one_colour_on_every_page(browser, logged_in, palette_run, theme, screenshot):
    """Badge, grid cell, chart bar and graph node of a status share its palette colour."""
    browser.get(logged_in("/admin/"))
    set_theme(browser, theme)
    run, flow = palette_run, palette_run.flow

    browser.get(logged_in(f"/admin/flowforge_admin/flowrun/{run.pk}/change/"))
    expected = palette(browser, TASK_STATES + ["waiting"])
    assert all(expected.values()), expected
    # Nine states, nine colours: failed and upstream failed (and the rest) never look alike.
    assert len(set(expected.values())) == len(expected)
    assert colours(browser, "#task-{s} .ff-status", "backgroundColor", TASK_STATES) == {
        s: expected[s] for s in TASK_STATES
    }
    assert colours(browser, ".ff-gantt rect.ff-bar-{s}", "fill", TASK_STATES) == {
        s: expected[s] for s in TASK_STATES
    }
    screenshot(f"palette_run_page_{theme}")

    browser.get(logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/change/"))
    assert colours(browser, "a.ff-grid-cell.ff-status-{s}", "backgroundColor", TASK_STATES) == {
        s: expected[s] for s in TASK_STATES
    }
    assert colours(browser, "a.ff-grid-head.ff-status-{s}", "backgroundColor", RUN_STATES) == {
        s: expected[s] for s in RUN_STATES
    }

    browser.get(logged_in("/admin/flowforge_admin/flowrun/"))
    assert colours(browser, "td.field-status_badge .ff-status-{s}", "backgroundColor", RUN_STATES) == {
        s: expected[s] for s in RUN_STATES
    }

    browser.get(logged_in(f"/admin/flowforge_admin/flowrun/{run.pk}/graph/"))
    wait_drawn(browser)
    nodes = browser.execute_script(
        RGB
        + "const out = {}; for (const s of arguments[0]) {"
        + "  out[s] = rgb(window.ffGraph.cy.getElementById(s).style('background-color')); }"
        + "probe.remove(); return out;",
        TASK_STATES,
    )
    assert nodes == {s: expected[s] for s in TASK_STATES}
    assert colours(browser, ".ff-graph-legend .ff-status-{s}", "backgroundColor", TASK_STATES) == {
        s: expected[s] for s in TASK_STATES
    }
    screenshot(f"palette_graph_{theme}")


def test_the_drawing_follows_a_theme_switch(browser, logged_in, palette_run):
    """Switching the admin's theme on the graph page recolours the nodes with the new palette."""
    browser.get(logged_in("/admin/"))
    set_theme(browser, "light")
    browser.get(logged_in(f"/admin/flowforge_admin/flowrun/{palette_run.pk}/graph/"))
    wait_drawn(browser)
    light = palette(browser, ["failed"])["failed"]
    browser.execute_script("document.documentElement.dataset.theme = 'dark';")
    dark = palette(browser, ["failed"])["failed"]
    assert light != dark
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda b: (
            b.execute_script(
                RGB + "const c = rgb(window.ffGraph.cy.getElementById('failed').style('background-color'));"
                "probe.remove(); return c;"
            )
            == dark
        )
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_search_hits_take_the_palettes_match_colour(browser, logged_in, palette_run, theme):
    """The drawing marks search hits with --ff-graph-match, the one colour the palette keeps for them."""
    browser.get(logged_in("/admin/"))
    set_theme(browser, theme)
    browser.get(logged_in(f"/admin/flowforge_admin/flowrun/{palette_run.pk}/graph/"))
    wait_drawn(browser)
    expected = browser.execute_script(
        RGB
        + "const c = rgb(getComputedStyle(document.documentElement).getPropertyValue('--ff-graph-match').trim());"
        "probe.remove(); return c;"
    )
    assert expected
    assert expected != "rgba(0,0,0,0)"
    assert browser.execute_script("return window.ffGraph.search('upstream_failed');") == ["upstream_failed"]
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda b: b.execute_script(
            "return window.ffGraph.cy.getElementById('upstream_failed').hasClass('match');"
        )
    )
    drawn = browser.execute_script(
        RGB + "const c = rgb(window.ffGraph.cy.getElementById('upstream_failed').style('underlay-color'));"
        "probe.remove(); return c;"
    )
    assert drawn == expected
