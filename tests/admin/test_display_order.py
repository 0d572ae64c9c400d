"""The run page's task order: linear, and the same order the page always showed."""

from hypothesis import given, settings
from hypothesis import strategies as st

from flowforge_admin.engine.snapshot import Snapshot


def reference_order(snapshot):
    """The run page's first display order (quadratic in siblings), kept as the oracle."""
    order = []

    def subtree(name):
        found, todo = [], [name]
        while todo:
            current = todo.pop()
            found.append(current)
            todo.extend(snapshot.children[current])
        return found

    def holding(name, members):
        for candidate in [name, *snapshot.ancestors(name)]:
            if candidate in members:
                return candidate
        return None

    def sibling_order(siblings):
        members = set(siblings)
        after = {name: set() for name in siblings}
        for sibling in siblings:
            for task in subtree(sibling):
                for upstream in snapshot.tasks[task]["depends_on"]:
                    owner = holding(upstream, members)
                    if owner is not None and owner != sibling:
                        after[sibling].add(owner)
        ordered, placed = [], set()
        while len(ordered) < len(siblings):
            ready = [n for n in siblings if n not in placed and after[n] <= placed]
            name = ready[0] if ready else next(n for n in siblings if n not in placed)
            ordered.append(name)
            placed.add(name)
        return ordered

    def visit(siblings, depth):
        for name in sibling_order(siblings):
            order.append((name, depth))
            visit(snapshot.children[name], depth + 1)

    visit([name for name in snapshot.names if snapshot.parent(name) is None], 0)
    return order


@st.composite
def snapshots(draw):
    """Task trees (parents before children) with any dependencies, cycles between groups included."""
    count = draw(st.integers(1, 40))
    tasks = []
    for i in range(count):
        parent = draw(st.none() | st.integers(0, i - 1)) if i else None
        tasks.append({"name": f"n{i}", "parent": None if parent is None else f"n{parent}", "function": "f"})
    for task in tasks:
        upstream = draw(st.lists(st.integers(0, count - 1), max_size=4, unique=True))
        task["depends_on"] = [f"n{i}" for i in upstream if f"n{i}" != task["name"]]
    return Snapshot({"tasks": tasks})


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_display_order_is_the_order_the_page_always_showed(snapshot):
    assert snapshot.graph.display_order() == reference_order(snapshot)


def test_a_20000_task_chain_is_ordered():
    """The quadratic order took half a minute here; the linear one returns at once (timed in bench/)."""
    tasks = [
        {"name": f"t{i}", "parent": None, "function": "f", "depends_on": [f"t{i - 1}"] if i else []}
        for i in range(20_000)
    ]
    tasks.reverse()  # definition order against dependency order: every step waits for the next
    order = Snapshot({"tasks": tasks}).graph.display_order()
    assert order == [(f"t{i}", 0) for i in range(20_000)]


def test_deep_nesting_is_ordered_without_recursion():
    tasks = [{"name": "g0", "parent": None, "function": None, "depends_on": []}]
    tasks += [
        {"name": f"g{i}", "parent": f"g{i - 1}", "function": None, "depends_on": []} for i in range(1, 3000)
    ]
    order = Snapshot({"tasks": tasks}).graph.display_order()
    assert order == [(f"g{i}", i) for i in range(3000)]
