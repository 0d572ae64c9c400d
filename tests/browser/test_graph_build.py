"""Big drawings are built in slices, off screen, then shown: in a real headless Chromium.

The threshold is lowered through the page's data-chunk-above attribute, so that a 200-task
flow (~420 elements) goes the way a 5 000-task one does.
"""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.definitions.spec import TaskSpec

from ..conftest import make_flow
from .test_graph import counts, grouped_tasks, open_graph, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# 10 groups after groups, 10 x 18 tasks after tasks, 9 x 3 tasks after the previous group's.
FULL = [200, 9 + 180 + 27, 10]


def redraw_in_slices(browser, then=""):
    """Redraw with chunking from 50 elements on; ``then``: script run right after the draw starts."""
    browser.execute_script(
        "const root = document.getElementById('content-main');"
        "root.dataset.chunkAbove = '50'; root.dataset.state = 'waiting';"
        "window.ffGraph.draw({fit: true});" + then
    )
    wait_drawn(browser)


# Each element's id, classes, parent, position and drawn colour/route: what the drawing shows.
DRAWN = """
return window.ffGraph.cy.elements().map(e => [e.id(), e.classes().join(' '),
  e.isNode() ? [e.data('parent') || null, e.position(), e.style('background-color')]
             : [e.style('line-color'), e.style('curve-style'), e.style('segment-distances')]]);
"""


def test_a_drawing_built_in_slices_is_complete_and_selectable(browser, logged_in):
    flow = make_flow("sliced", grouped_tasks(10))
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))
    in_one_piece = browser.execute_script(DRAWN)
    browser.execute_script("window.ffFirstCy = window.ffGraph.cy;")
    redraw_in_slices(browser)
    assert browser.execute_script(
        "return window.ffGraph.cy !== window.ffFirstCy && window.ffFirstCy.destroyed();"
    )
    # ELK lays this flow out (its groups are no chains): built meanwhile, placed after.
    assert browser.execute_script("return window.ffGraph.state.builtDuringLayout") is True
    assert counts(browser) == FULL
    assert sorted(browser.execute_script(DRAWN)) == sorted(in_one_piece)
    assert browser.find_element(By.ID, "ff-graph-status").is_displayed() is False
    browser.execute_script("window.ffGraph.cy.getElementById('g4_t2').emit('tap');")
    panel = browser.find_element(By.ID, "ff-graph-panel")
    WebDriverWait(browser, 30).until(lambda b: panel.is_displayed() and "g4_t1" in panel.text)
    assert browser.execute_script("return window.ffGraph.cy.$(':selected').map(n => n.id());") == ["g4_t2"]


def test_a_chain_built_in_slices_is_placed_as_built(browser, logged_in):
    """A chain is placed at once, without ELK: its elements are built with their places."""
    specs = [
        TaskSpec(name=f"t{i}", function="tests.engine_tasks.echo", depends_on=(f"t{i - 1}",) if i else ())
        for i in range(40)
    ]
    flow = make_flow("sliced_chain", specs)
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))
    in_one_piece = browser.execute_script(DRAWN)
    redraw_in_slices(browser)
    assert browser.execute_script(
        "const s = window.ffGraph.state; return [s.builtDuringLayout, s.layoutByElk];"
    ) == [False, False]
    assert counts(browser) == [40, 39, 0]
    assert sorted(browser.execute_script(DRAWN)) == sorted(in_one_piece)


def test_a_newer_draw_replaces_a_drawing_still_being_built(browser, logged_in):
    flow = make_flow("superseded", grouped_tasks(10))
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))
    # Collapsing every group while the expanded drawing is built: the collapsed one is shown.
    redraw_in_slices(browser, then="window.ffGraph.setAllCollapsed(true);")
    WebDriverWait(browser, 30).until(lambda b: counts(b) == [10, 9, 0])
    assert browser.execute_script("return window.ffGraph.state.collapsed.size;") == 10


# Pixels painted on the page's canvases (cytoscape draws the nodes and edges on them).
PAINTED = """
let painted = 0;
for (const canvas of document.querySelectorAll('#ff-graph-canvas canvas')) {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i]) painted += 1;
}
return painted;
"""


def test_a_drawing_built_in_slices_is_painted(browser, logged_in):
    """Built off screen then mounted, the drawing is on the screen's canvas, as drawn in one piece."""
    flow = make_flow("painted", grouped_tasks(10))
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))
    browser.execute_script(
        "window.ffGraph.cy.zoom(1); window.ffGraph.cy.center(window.ffGraph.cy.getElementById('g1_t3'));"
    )
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(PAINTED) > 0)
    in_one_piece = browser.execute_script(PAINTED)
    redraw_in_slices(browser)
    browser.execute_script(
        "window.ffGraph.cy.zoom(1); window.ffGraph.cy.center(window.ffGraph.cy.getElementById('g1_t3'));"
    )
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(PAINTED) > in_one_piece / 2)
