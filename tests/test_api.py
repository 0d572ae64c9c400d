"""register_task_pipeline: the predecessor's form, validation, versions, atomicity."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, Task, TaskFunction

from . import flow_functions as fn
from .conftest import tree_errors

pytestmark = pytest.mark.django_db


def seed_pipeline():
    """The predecessor's example with its nested group, minus its missing dependency."""
    return {
        "fetch_data2": {"function": fn.fetch_data2, "depends_on": [], "verbose_name": "Fetch 2"},
        "clean_data": {"function": fn.clean_data, "depends_on": ["fetch_data2"]},
        "train_model": {
            "function": fn.train_model,
            "depends_on": ["clean_data"],
            "nested_tasks": {
                "split": {"function": fn.split, "depends_on": []},
                "fit": {"function": fn.fit, "depends_on": ["split"], "retries": 2, "timeout": 30},
            },
        },
    }


def tasks_of(flow):
    return {
        task.name: (task.parent.name if task.parent else None, sorted(d.name for d in task.depends_on.all()))
        for task in Task.objects.filter(flow=flow).select_related("parent").prefetch_related("depends_on")
    }


def test_seed_form_with_nested_tasks_is_stored_as_a_tree():
    flow = register_task_pipeline(
        flow_name="pipeline_simple_ml", clear_existing_flow_in_db=True, pipeline=seed_pipeline()
    )
    assert isinstance(flow, Flow)
    assert flow.version == 1
    assert flow.origin == Flow.Origin.CODE
    assert tasks_of(flow) == {
        "fetch_data2": (None, []),
        "clean_data": (None, ["fetch_data2"]),
        "train_model": (None, ["clean_data"]),
        "split": ("train_model", []),
        "fit": ("train_model", ["split"]),
    }
    assert list(Task.objects.filter(flow=flow).order_by("tree_id", "lft").values_list("name", flat=True)) == [
        "fetch_data2",
        "clean_data",
        "train_model",
        "split",
        "fit",
    ]
    assert tree_errors(Task.objects.all()) == []
    group = Task.objects.get(name="train_model")
    assert [t.name for t in group.get_children()] == ["split", "fit"]
    fit = Task.objects.get(name="fit")
    assert (fit.retries, fit.timeout, fit.function) == (2, 30, "tests.flow_functions.fit")
    fetch = Task.objects.get(name="fetch_data2")
    assert fetch.verbose_name == "Fetch 2"
    assert fetch.docstring == "Fetch the second dataset."
    assert fetch.source.startswith("def fetch_data2():")
    assert TaskFunction.objects.filter(path="tests.flow_functions.fit").exists()


def test_seed_example_with_missing_dependency_fails_and_changes_nothing():
    """The predecessor's own example: clean_data depends on fetch_data1, which it never defines."""
    pipeline = seed_pipeline()
    pipeline["clean_data"]["depends_on"] = ["fetch_data1"]
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline(
            flow_name="pipeline_simple_ml", clear_existing_flow_in_db=True, pipeline=pipeline
        )
    assert str(raised.value) == (
        "flow 'pipeline_simple_ml', task 'clean_data', depends_on: 'fetch_data1' is not a task of this flow"
    )
    assert isinstance(raised.value, ValueError)
    assert not Flow.objects.exists()
    assert not Task.objects.exists()
    assert not TaskFunction.objects.exists()


def test_every_problem_is_reported_at_once():
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline(
            "bad",
            {
                "a": {"function": lambda: None},
                "b": {"function": fn.fit, "depends_on": ["zzz"], "retires": 3},
                "c": "not a dict",
            },
        )
    codes = sorted(problem.code for problem in raised.value.problems)
    assert codes == ["function_not_importable", "invalid_task", "unknown_dependency", "unknown_key"]
    text = str(raised.value)
    assert "task 'b', retires: unknown key; expected one of" in text
    assert "task 'a', function: tests.test_api" in text


def test_reregistering_the_same_definition_is_a_no_op():
    first = register_task_pipeline("flow", seed_pipeline())
    ids = set(Task.objects.values_list("pk", flat=True))
    for clear in (False, True):
        with CaptureQueriesContext(connection) as queries:
            again = register_task_pipeline("flow", seed_pipeline(), clear_existing_flow_in_db=clear)
        assert again.pk == first.pk
        assert again.version == 1
        assert set(Task.objects.values_list("pk", flat=True)) == ids
        writes = [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "DELETE", "UPDATE"))]
        assert writes == []


def test_changed_definition_updates_in_place():
    register_task_pipeline("flow", seed_pipeline())
    kept_id = Task.objects.get(name="clean_data").pk
    pipeline = seed_pipeline()
    del pipeline["fetch_data2"]
    pipeline["clean_data"]["depends_on"] = []
    # "fit" moves out of the group to the top level.
    pipeline["fit"] = pipeline["train_model"]["nested_tasks"].pop("fit")
    pipeline["fit"]["depends_on"] = ["train_model"]
    flow = register_task_pipeline("flow", pipeline)
    assert flow.version == 2
    assert tasks_of(flow) == {
        "clean_data": (None, []),
        "train_model": (None, ["clean_data"]),
        "split": ("train_model", []),
        "fit": (None, ["train_model"]),
    }
    assert Task.objects.get(name="clean_data").pk == kept_id
    assert tree_errors(Task.objects.all()) == []


def test_kept_task_moves_into_a_new_group():
    register_task_pipeline("flow", seed_pipeline())
    pipeline = seed_pipeline()
    pipeline["wrapper"] = {"nested_tasks": {"clean_data": pipeline.pop("clean_data")}}
    pipeline["train_model"]["depends_on"] = ["wrapper"]
    flow = register_task_pipeline("flow", pipeline)
    assert tasks_of(flow)["clean_data"] == ("wrapper", ["fetch_data2"])
    assert tree_errors(Task.objects.all()) == []


def test_changed_definition_with_clear_is_rebuilt():
    register_task_pipeline("flow", seed_pipeline())
    old_ids = set(Task.objects.values_list("pk", flat=True))
    pipeline = seed_pipeline()
    pipeline["clean_data"]["retries"] = 4
    flow = register_task_pipeline("flow", pipeline, clear_existing_flow_in_db=True)
    assert flow.version == 2
    assert old_ids.isdisjoint(Task.objects.values_list("pk", flat=True))
    assert Task.objects.get(name="clean_data").retries == 4
    assert tree_errors(Task.objects.all()) == []


def test_invalid_change_leaves_the_stored_flow_unchanged():
    register_task_pipeline("flow", seed_pipeline())
    before = tasks_of(Flow.objects.get())
    pipeline = seed_pipeline()
    pipeline["fetch_data2"]["depends_on"] = ["train_model"]  # a cycle
    with pytest.raises(FlowDefinitionError, match="cycle: "):
        register_task_pipeline("flow", pipeline)
    flow = Flow.objects.get()
    assert flow.version == 1
    assert tasks_of(flow) == before


def test_other_flows_trees_are_untouched():
    register_task_pipeline("one", seed_pipeline())
    register_task_pipeline("two", seed_pipeline())
    pipeline = seed_pipeline()
    pipeline["extra"] = {"function": fn.fit, "nested_tasks": {"deep": {"function": fn.split}}}
    register_task_pipeline("one", pipeline)
    assert tree_errors(Task.objects.all()) == []
    assert [t.name for t in Task.objects.get(flow__name="two", name="train_model").get_descendants()] == [
        "split",
        "fit",
    ]


def test_dotted_paths_as_strings():
    flow = register_task_pipeline(
        "strings",
        {
            "demo": {"function": "flowforge_admin.demo.tasks.fetch_data1"},
            "registered": {"function": "tests.flow_functions.fit", "depends_on": ["demo"]},
        }
        if TaskFunction.objects.create(path="tests.flow_functions.fit")
        else {},
    )
    assert set(flow.tasks.values_list("function", flat=True)) == {
        "flowforge_admin.demo.tasks.fetch_data1",
        "tests.flow_functions.fit",
    }
    assert flow.tasks.get(name="demo").docstring.startswith("Fetch the first dataset")
    with pytest.raises(FlowDefinitionError, match="'os.system' is not an allowed task function"):
        register_task_pipeline("evil", {"x": {"function": "os.system"}})
    assert not Flow.objects.filter(name="evil").exists()


def test_flow_parameters_and_schema():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    flow = register_task_pipeline(
        "params", {"a": {"function": fn.fit}}, params={"n": 3}, params_schema=schema, display_name="Params"
    )
    assert (flow.params, flow.params_schema, flow.display_name) == ({"n": 3}, schema, "Params")
    flow = register_task_pipeline(
        "params", {"a": {"function": fn.fit}}, params={"n": 4}, params_schema=schema
    )
    assert flow.version == 2
    with pytest.raises(FlowDefinitionError, match="params_schema: is not a valid JSON Schema"):
        register_task_pipeline("params", {"a": {"function": fn.fit}}, params_schema={"type": 5})


def test_registration_writes_in_batches_not_one_query_per_task():
    pipeline = {
        f"g{g}": {
            "function": fn.fit,
            "depends_on": [f"g{g - 1}"] if g else [],
            "nested_tasks": {
                f"g{g}_t{i}": {"function": fn.split, "depends_on": [f"g{g}_t{i - 1}"] if i else []}
                for i in range(49)
            },
        }
        for g in range(10)
    }
    with CaptureQueriesContext(connection) as queries:
        flow = register_task_pipeline("big", pipeline)
    assert flow.tasks.count() == 500
    assert len(queries) < 40
    assert tree_errors(Task.objects.filter(flow=flow)) == []
    with CaptureQueriesContext(connection) as queries:
        pipeline["g9"]["nested_tasks"]["g9_t48"]["retries"] = 1
        flow = register_task_pipeline("big", pipeline)
    assert flow.version == 2
    assert len(queries) < 150
    assert tree_errors(Task.objects.filter(flow=flow)) == []
