"""FlowGraph, the one walker: tree questions, upstream and downstream with groups, cycles."""

from hypothesis import given, settings
from hypothesis import strategies as st

from flowforge_admin.definitions.graph import FlowGraph
from flowforge_admin.definitions.spec import TaskSpec


def graph_of(*tasks):
    """Tasks as (name, parent, depends_on) triples, parents first."""
    return FlowGraph.from_tasks(
        [TaskSpec(name, parent=parent, depends_on=tuple(deps)) for name, parent, deps in tasks]
    )


# start -> group(x -> y, z) -> after: `after` waits for the whole group.
NESTED = graph_of(
    ("start", None, []),
    ("group", None, ["start"]),
    ("x", "group", []),
    ("y", "group", ["x"]),
    ("z", "group", []),
    ("after", None, ["group"]),
)


def test_tree_questions():
    assert NESTED.parent("y") == "group"
    assert NESTED.children["group"] == ("x", "y", "z")
    assert NESTED.is_group("group")
    assert not NESTED.is_group("x")
    assert NESTED.ancestors("y") == ["group"]
    assert NESTED.roots() == ["start", "group", "after"]
    assert sorted(NESTED.descendants("group")) == ["group", "x", "y", "z"]
    assert NESTED.is_ancestor("group", "y")
    assert not NESTED.is_ancestor("y", "group")
    assert not NESTED.is_ancestor("group", "group")


def test_upstream_holds_the_groups_dependencies_once_in_order():
    graph = graph_of(
        ("a", None, []), ("g", None, ["a"]), ("h", "g", ["a"]), ("t", "h", ["b"]), ("b", None, [])
    )
    assert graph.upstream("t") == ["b", "a"]
    assert NESTED.upstream("y") == ["x", "start"]


def test_downstream_of_a_nested_task_includes_what_waits_for_its_group():
    assert sorted(NESTED.downstream("x")) == ["after", "x", "y"]
    assert sorted(NESTED.downstream("start")) == ["after", "group", "start", "x", "y", "z"]
    assert NESTED.downstream("after") == ["after"]


def test_downstream_of_a_diamond_has_each_task_once():
    graph = graph_of(("a", None, []), ("b", None, ["a"]), ("c", None, ["a"]), ("d", None, ["b", "c"]))
    found = graph.downstream("a")
    assert sorted(found) == ["a", "b", "c", "d"]
    assert len(found) == 4
    assert graph.dependents["a"] == ("b", "c")


def test_deep_nesting_is_walked_without_recursion():
    """3 000 nested groups, the innermost waited for: downstream of it lifts every group once."""
    tasks = [("g0", None, [])] + [(f"g{i}", f"g{i - 1}", []) for i in range(1, 3000)]
    tasks.append(("after", None, ["g0"]))
    graph = graph_of(*tasks)
    assert graph.downstream("g2999") == ["g2999", "after"]
    assert len(graph.ancestors("g2999")) == 2999
    assert graph.is_ancestor("g0", "g2999")
    assert graph.nesting_cycle() is None
    assert graph.find_cycle() is None


def test_a_20000_task_chain():
    graph = graph_of(*[(f"t{i}", None, [f"t{i - 1}"] if i else []) for i in range(20_000)])
    assert len(graph.downstream("t0")) == 20_000
    assert graph.find_cycle() is None


def test_nesting_cycle_is_found_by_a_guarded_walk():
    graph = graph_of(("top", None, []), ("u", "a", []), ("a", "b", []), ("b", "a", []))
    assert graph.nesting_cycle() == ("u", ["a", "b", "a"])
    assert graph_of(("s", "s", [])).nesting_cycle() == ("s", ["s", "s"])


def test_find_cycle_through_a_group():
    graph = graph_of(("x", None, ["child"]), ("group", None, ["x"]), ("child", "group", []))
    cycle = graph.find_cycle()
    assert cycle[0] == cycle[-1]
    assert {"x", "group", "child"} <= set(cycle)


@st.composite
def graphs(draw):
    """Task trees (parents first) with any dependencies (cycles too) between tasks not nested in each other."""
    count = draw(st.integers(1, 25))
    parents = [None]
    for i in range(1, count):
        parents.append(draw(st.none() | st.integers(0, i - 1)))
    tree = graph_of(*[(f"n{i}", None if p is None else f"n{p}", []) for i, p in enumerate(parents)])
    tasks = []
    for i in range(count):
        upstream = draw(st.lists(st.integers(0, count - 1), max_size=3, unique=True))
        name = f"n{i}"
        # The rules refuse a dependency between a group and a task nested in it.
        deps = [
            f"n{j}"
            for j in upstream
            if j != i and not tree.is_ancestor(f"n{j}", name) and not tree.is_ancestor(name, f"n{j}")
        ]
        tasks.append((name, tree.parent(name), deps))
    return graph_of(*tasks)


def waits_directly(graph, b, x):
    """Whether ``b`` waits for ``x`` by DESIGN.md's rules, asked through upstream and the tree only.

    ``b``'s upstream (its own and its groups' dependencies) names ``x`` or a
    group holding ``x``: waiting on a group waits on all of it.
    """
    return any(u == x or graph.is_ancestor(u, x) for u in graph.upstream(b))


def reopened_with(graph, a):
    """The smallest set holding ``a``, every task nested in a member, and every task waiting for a member."""
    found, todo = {a}, [a]
    while todo:
        x = todo.pop()
        for b in graph.names:
            if b not in found and (graph.is_ancestor(x, b) or waits_directly(graph, b, x)):
                found.add(b)
                todo.append(b)
    return found


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_downstream_is_the_closure_of_upstream_and_nesting(graph):
    """What downstream walks forward (dependents, children, groups' dependents) is what upstream says backward."""
    for a in graph.names:
        assert set(graph.downstream(a)) == reopened_with(graph, a), a
