"""Chains laid out without ELK (layout.js placeChain) land where ELK puts them: real Chromium.

Big graphs (over 500 drawn nodes) are laid out one group at a time, graphs without groups
(all collapsed, or none) have one level; a group (or the top level) whose nodes form one
simple chain is placed on the page's thread as ELK's layered algorithm places it, and ELK
only lays out the rest. These tests lay the same drawing out
both ways (``window.ffGraph.layoutOf({chains: false})``: everything by ELK) and compare.
"""

import pytest

from flowforge_admin.definitions.spec import TaskSpec

from ..conftest import make_flow
from .test_graph import grouped_tasks, open_graph, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Both layouts of what is drawn: [centres by node, extent, whether ELK was needed] each.
BOTH = """
const done = arguments[arguments.length - 1];
const direction = arguments[0];
Promise.all([window.ffGraph.layoutOf({direction}), window.ffGraph.layoutOf({direction, chains: false})])
  .then(([fast, elk]) => done([fast.positions, fast.box, fast.elk, elk.positions, elk.box, elk.elk]))
  .catch((error) => done(String(error)));
"""


def both_layouts(browser, direction):
    browser.set_script_timeout(120)
    result = browser.execute_async_script(BOTH, direction)
    assert isinstance(result, list), result
    return result


def assert_same(fast, elk):
    assert sorted(fast) == sorted(elk)
    for name, at in elk.items():
        assert fast[name]["x"] == pytest.approx(at["x"], abs=0.01), name
        assert fast[name]["y"] == pytest.approx(at["y"], abs=0.01), name


def mixed_tasks(groups):
    """grouped_tasks, but in every third group a task waits for the one two before it as well
    (a fork: not a chain), and one group holds a group of three chained tasks."""
    specs = list(grouped_tasks(groups))
    for index, spec in enumerate(specs):
        name = spec.name
        if "_t" in name and int(name[1 : name.index("_")]) % 3 == 0 and name.endswith("_t5"):
            specs[index] = TaskSpec(
                name=name,
                parent=spec.parent,
                function=spec.function,
                depends_on=(*spec.depends_on, name.replace("_t5", "_t3")),
            )
    specs.append(TaskSpec(name="inner", parent="g1", depends_on=("g1_t18",)))
    for i in range(3):
        specs.append(
            TaskSpec(
                name=f"inner_{i}",
                parent="inner",
                function="tests.engine_tasks.echo",
                depends_on=(f"inner_{i - 1}",) if i else (),
            )
        )
    return specs


@pytest.mark.parametrize("direction", ["RIGHT", "DOWN"])
def test_chains_are_placed_where_elk_places_them(browser, logged_in, direction):
    """30 groups of 20 chained tasks, the groups themselves a chain: no ELK at all, same places."""
    flow = make_flow("chains", grouped_tasks(30))
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"), timeout=60)
    assert browser.execute_script("return window.ffGraph.cy.nodes().length") == 600
    assert browser.execute_script("return window.ffGraph.state.layoutByElk") is False
    fast, fast_box, fast_elk, elk, elk_box, elk_elk = both_layouts(browser, direction)
    assert (fast_elk, elk_elk) == (False, True)
    assert_same(fast, elk)
    assert fast_box == pytest.approx(elk_box, abs=0.01)


def test_the_drawing_shows_the_tasks_where_elk_places_them(browser, logged_in):
    """What is drawn (every task's centre on the canvas) is ELK's layout of the whole flow."""
    flow = make_flow("chains_drawn", grouped_tasks(30))
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"), timeout=60)
    _, _, _, elk, _, _ = both_layouts(browser, "RIGHT")
    drawn = browser.execute_script(
        "return Object.fromEntries(window.ffGraph.cy.nodes().not(':parent').map(n => [n.id(), n.position()]));"
    )
    assert_same(drawn, elk)


@pytest.mark.parametrize("direction", ["RIGHT", "DOWN"])
def test_groups_that_are_not_chains_are_left_to_elk(browser, logged_in, direction):
    """Forks in some groups and a nested group: ELK lays those out, the chains are placed around them."""
    flow = make_flow("mixed", mixed_tasks(30))
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"), timeout=60)
    assert browser.execute_script("return window.ffGraph.state.layoutByElk") is True
    fast, fast_box, fast_elk, elk, elk_box, elk_elk = both_layouts(browser, direction)
    assert (fast_elk, elk_elk) == (True, True)
    assert "inner_1" in fast
    assert_same(fast, elk)
    assert fast_box == pytest.approx(elk_box, abs=0.01)


@pytest.mark.parametrize("direction", ["RIGHT", "DOWN"])
def test_a_collapsed_chain_of_groups_is_placed_where_elk_places_it(browser, logged_in, direction):
    """Every group collapsed (as flows over 1 000 tasks open): 30 boxes in a row, no ELK either."""
    flow = make_flow("collapsed_chain", grouped_tasks(30))
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"), timeout=60)
    browser.execute_script(
        "document.getElementById('content-main').dataset.state = 'waiting'; window.ffGraph.setAllCollapsed(true);"
    )
    wait_drawn(browser)
    assert browser.execute_script("return window.ffGraph.cy.nodes().length") == 30
    assert browser.execute_script("return window.ffGraph.state.layoutByElk") is False
    fast, fast_box, fast_elk, elk, elk_box, elk_elk = both_layouts(browser, direction)
    assert (fast_elk, elk_elk) == (False, True)
    assert_same(fast, elk)
    assert fast_box == pytest.approx(elk_box, abs=0.01)


def test_a_small_flow_with_a_fork_is_left_to_elk(browser, logged_in):
    """A flat graph that is not a chain (a fork) goes to ELK as before."""
    specs = [
        TaskSpec(name="a", function="tests.engine_tasks.echo"),
        TaskSpec(name="b", function="tests.engine_tasks.echo", depends_on=("a",)),
        TaskSpec(name="c", function="tests.engine_tasks.echo", depends_on=("a",)),
    ]
    flow = make_flow("fork", specs)
    open_graph(browser, logged_in(f"/admin/flowforge_admin/flow/{flow.pk}/graph/"))
    assert browser.execute_script("return window.ffGraph.state.layoutByElk") is True
