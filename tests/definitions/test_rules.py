"""The rules of definitions/rules.py, checked on plain FlowSpec data."""

import pytest

from flowforge_admin.definitions.rules import check_name, find_cycle, validate_flow
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec

F = "demo.tasks.run"


def allow_all(path):
    return None


def problems_of(*tasks, check_function=allow_all, **flow):
    spec = FlowSpec(name=flow.pop("name", "flow"), tasks=tasks, **flow)
    return validate_flow(spec, check_function)


def messages(problems):
    return [str(problem) for problem in problems]


@pytest.mark.parametrize("name", ["fetch", "fetch_data2", "Load-2", "9lives", "_x"])
def test_good_names(name):
    assert check_name(name) is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "a name is required"),
        ("has space", "may contain only letters"),
        ("-leading", "may contain only letters"),
        ("dot.ted", "may contain only letters"),
        ("x" * 101, "longer than 100 characters"),
        (7, "must be text, not int"),
    ],
)
def test_bad_names(name, message):
    assert message in check_name(name)


def test_valid_flow_with_groups_has_no_problems():
    """A group may depend on tasks and be depended on; its children may depend on each other."""
    assert (
        problems_of(
            TaskSpec("load", function=F),
            TaskSpec("train", function=F, depends_on=("load",)),
            TaskSpec("split", parent="train", function=F),
            TaskSpec("fit", parent="train", function=F, depends_on=("split",)),
            TaskSpec("report", function=F, depends_on=("train",)),
        )
        == []
    )


def test_problem_names_flow_task_and_item():
    (problem,) = problems_of(
        TaskSpec("fetch_data2", function=F),
        TaskSpec("clean_data", function=F, depends_on=("fetch_data1",)),
        name="pipeline_simple_ml",
    )
    assert str(problem) == (
        "flow 'pipeline_simple_ml', task 'clean_data', depends_on: 'fetch_data1' is not a task of this flow"
    )
    assert problem.code == "unknown_dependency"


def test_flow_name_and_params_are_checked():
    found = messages(problems_of(TaskSpec("a", function=F), name="bad name", params=[1]))
    assert any("flow 'bad name', name: 'bad name' may contain only" in m for m in found)
    assert any("params: must be a JSON object" in m for m in found)


def test_params_schema_must_be_a_valid_json_schema():
    (problem,) = problems_of(TaskSpec("a", function=F), params_schema={"type": "nope"})
    assert problem.field == "params_schema"
    assert "is not a valid JSON Schema" in problem.message


def test_duplicate_task_names():
    found = problems_of(TaskSpec("a", function=F), TaskSpec("g"), TaskSpec("a", parent="g", function=F))
    assert [p.code for p in found] == ["duplicate_name"]
    assert "'a' is used by more than one task" in found[0].message


def test_unknown_parent():
    (problem,) = problems_of(TaskSpec("a", parent="ghost", function=F))
    assert (problem.task, problem.field, problem.code) == ("a", "parent", "unknown_parent")


def test_self_and_duplicate_dependencies():
    found = problems_of(
        TaskSpec("a", function=F),
        TaskSpec("b", function=F, depends_on=("b", "a", "a")),
    )
    assert [p.code for p in found] == ["self_dependency", "duplicate_dependency"]
    assert found[0].message == "a task cannot depend on itself"


def test_depends_on_must_be_a_list_of_names():
    (problem,) = problems_of(TaskSpec("a", function=F), TaskSpec("b", function=F, depends_on="a"))
    assert problem.code == "invalid_depends_on"


def test_tasks_without_a_function_are_groups_or_join_points():
    """A task without a function is a pure group, or a no-op that only joins others."""
    assert (
        problems_of(
            TaskSpec("group"),
            TaskSpec("child", parent="group", function=F),
            TaskSpec("join", depends_on=("group",)),
        )
        == []
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("retries", -1, "retries: must be a whole number from 0 to 2147483647, not -1"),
        ("retries", "3", "retries: must be a whole number from 0 to 2147483647, not '3'"),
        ("retries", True, "not True"),
        ("retry_delay", 1.5, "retry_delay: must be a whole number of seconds from 0 to 2147483647"),
        ("timeout", 0, "timeout: must be a whole number of seconds from 1 to 2147483647"),
        ("params", "x=1", "params: must be a JSON object"),
        ("params", {"not valid": 1}, "must be Python identifiers"),
        ("verbose_name", "v" * 201, "verbose_name: is longer than 200 characters"),
    ],
)
def test_task_field_rules(field, value, message):
    (problem,) = problems_of(TaskSpec("a", function=F, **{field: value}))
    assert message in str(problem)


def test_function_is_checked_by_the_given_checker():
    def check(path):
        return None if path == F else f"{path!r} is not allowed"

    (problem,) = problems_of(
        TaskSpec("a", function=F), TaskSpec("b", function="os.system"), check_function=check
    )
    assert str(problem) == "flow 'flow', task 'b', function: 'os.system' is not allowed"


def test_simple_cycle_prints_its_path():
    (problem,) = problems_of(
        TaskSpec("load", function=F, depends_on=("clean",)),
        TaskSpec("clean", function=F, depends_on=("load",)),
    )
    assert problem.code == "cycle"
    assert problem.message == "cycle: load -> clean -> load"


def test_long_cycle_prints_every_step():
    (problem,) = problems_of(
        TaskSpec("a", function=F, depends_on=("c",)),
        TaskSpec("b", function=F, depends_on=("a",)),
        TaskSpec("c", function=F, depends_on=("b",)),
        TaskSpec("d", function=F, depends_on=("c",)),
    )
    assert problem.message == "cycle: a -> b -> c -> a"


def test_group_depending_on_its_own_descendant_is_a_cycle():
    (problem,) = problems_of(
        TaskSpec("group", function=F, depends_on=("child",)),
        TaskSpec("child", parent="group", function=F),
    )
    assert problem.code == "cycle"
    assert problem.message.startswith("cycle: child -> group -> child")
    assert "'child' is nested in 'group'" in problem.message


def test_descendant_depending_on_its_group_is_a_cycle():
    (problem,) = problems_of(
        TaskSpec("group"),
        TaskSpec("inner", parent="group"),
        TaskSpec("leaf", parent="inner", function=F, depends_on=("group",)),
    )
    assert problem.code == "cycle"
    assert "'leaf' is nested in 'group'" in problem.message


def test_cycle_through_group_semantics():
    """Waiting on a group waits for its children, so a child waiting on that waiter is a cycle."""
    (problem,) = problems_of(
        TaskSpec("group"),
        TaskSpec("child", parent="group", function=F, depends_on=("after",)),
        TaskSpec("after", function=F, depends_on=("group",)),
    )
    assert problem.message == "cycle: group -> after -> child -> group"


def test_group_upstream_applies_to_descendants_in_cycle_detection():
    """A group waiting on X makes its children wait on X too: X waiting on a child is a cycle."""
    (problem,) = problems_of(
        TaskSpec("x", function=F, depends_on=("child",)),
        TaskSpec("group", depends_on=("x",)),
        TaskSpec("child", parent="group", function=F),
    )
    assert problem.code == "cycle"
    assert problem.message.startswith("cycle: ")
    assert {"x", "group", "child"} <= set(problem.message[len("cycle: ") :].split(" -> "))


def test_nesting_cycle():
    found = problems_of(TaskSpec("a", parent="b", function=F), TaskSpec("b", parent="a", function=F))
    assert [p.code for p in found] == ["nesting_cycle"]
    assert "nesting cycle: " in found[0].message


def test_find_cycle_handles_large_acyclic_graphs_without_recursion():
    tasks = [TaskSpec(f"t{i}", function=F, depends_on=(f"t{i - 1}",) if i else ()) for i in range(5000)]
    assert find_cycle(tasks) is None
    tasks[0] = TaskSpec("t0", function=F, depends_on=("t4999",))
    cycle = find_cycle(tasks)
    assert cycle[0] == cycle[-1]
    assert len(cycle) == 5001
