"""The task keys ``map_over`` and ``map_param``: the same rules at every entrance (code, file, admin form)."""

import json

import pytest
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions import store
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, Task
from tests.conftest import DEMO, make_flow, task_row

from .files.conftest import definitions, export, rows_file

pytestmark = pytest.mark.django_db

FUNCTION = DEMO + "prepare_batch"


def pipeline(**train):
    return {
        "grid": {"function": FUNCTION},
        "other": {"function": FUNCTION, "depends_on": ["grid"]},
        "train": {"function": FUNCTION, "depends_on": ["grid"], **train},
    }


def test_a_mapped_task_is_stored_and_snapshotted_with_its_keys():
    flow = register_task_pipeline("mapped", pipeline(map_over="grid", map_param="params_set"))

    tasks = {task.name: task.canonical() for task in store.read_flow_spec(flow).tasks}
    assert (tasks["train"]["map_over"], tasks["train"]["map_param"]) == ("grid", "params_set")
    # Unmapped tasks have no key: definitions stored before mapping keep their hash and version.
    assert "map_over" not in tasks["grid"]


@pytest.mark.parametrize(
    ("train", "field", "message"),
    [
        (
            {"map_over": "other"},
            "map_over",
            "'other' is not an upstream task of 'train': map over one of the tasks in its depends_on",
        ),
        ({"map_over": "grid", "map_param": "not-an-id"}, "map_param", "must be a Python identifier"),
        ({"map_over": "grid", "map_param": "context"}, "map_param", "'context' cannot name a parameter"),
        ({"map_param": "x"}, "map_param", "is only used with map_over"),
    ],
)
def test_registration_refuses_a_bad_mapping(train, field, message):
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline("mapped", pipeline(**train))
    assert any(p.task == "train" and p.field == field and message in p.message for p in raised.value.problems)
    assert not Flow.objects.exists()


def test_a_group_cannot_be_mapped():
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline(
            "mapped",
            {
                "grid": {"function": FUNCTION},
                "box": {
                    "depends_on": ["grid"],
                    "map_over": "grid",
                    "nested_tasks": {"a": {"function": FUNCTION}},
                },
            },
        )
    assert [(p.task, p.field, p.message) for p in raised.value.problems] == [
        ("box", "map_over", "a group cannot be mapped: map one of its tasks")
    ]


def test_a_transitive_upstream_is_refused():
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline(
            "mapped",
            {
                "grid": {"function": FUNCTION},
                "mid": {"function": FUNCTION, "depends_on": ["grid"]},
                "train": {"function": FUNCTION, "depends_on": ["mid"], "map_over": "grid"},
            },
        )
    assert [p.code for p in raised.value.problems] == ["map_over_not_upstream"]


@pytest.mark.parametrize("format_name", ["json", "csv"])
def test_an_import_file_with_a_bad_map_over_changes_nothing(format_name):
    make_flow("kept", [TaskSpec(name="a", function=FUNCTION)])
    before = definitions()
    rows = [
        task_row("new", "grid"),
        task_row("new", "train", depends_on="grid", map_over="nope"),
    ]

    plan = import_file(rows_file(rows, format_name), format_name)

    assert [(issue.row, issue.column) for issue in plan.issues] == [
        (2, "map_over")
    ]  # rows count from 1, the header excluded
    assert "'nope' is not an upstream task of 'train'" in plan.issues[0].message
    assert definitions() == before


def test_the_mapping_goes_through_export_and_import():
    make_flow(
        "mapped",
        [
            TaskSpec(name="grid", function=FUNCTION),
            TaskSpec(name="train", function=FUNCTION, depends_on=("grid",), map_over="grid", map_param="p"),
        ],
    )
    content = export("json")
    assert [(row["map_over"], row["map_param"]) for row in json.loads(content)] == [("", ""), ("grid", "p")]
    Flow.objects.all().delete()

    plan = import_file(content, "json")

    assert plan.is_valid, plan.issues
    assert Task.objects.get(name="train").map_over == "grid"


def test_the_task_form_refuses_a_map_over_that_is_not_upstream(editor_client):
    flow = make_flow("mapped", [TaskSpec(name="grid", function=FUNCTION)])
    grid = flow.tasks.get(name="grid")
    data = {
        "flow": flow.pk,
        "parent": "",
        "name": "train",
        "verbose_name": "",
        "function": FUNCTION,
        "params": "{}",
        "retries": 0,
        "retry_delay": 0,
        "timeout": "",
        "map_over": "grid",
        "depends_on": [],
    }
    add_url = reverse("admin:flowforge_admin_task_add")

    response = editor_client.post(add_url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["map_over"] == [
        "'grid' is not an upstream task of 'train': map over one of the tasks in its depends_on"
    ]
    assert editor_client.post(add_url, {**data, "depends_on": [grid.pk]}).status_code == 302
    assert flow.tasks.get(name="train").map_over == "grid"


def test_the_graph_data_gives_the_mapping(admin_client):
    flow = register_task_pipeline("mapped", pipeline(map_over="grid"))
    data = admin_client.get(reverse("admin:flowforge_admin_flow_graph_data", args=[flow.pk])).json()
    assert {task["name"]: task["map_over"] for task in data["tasks"]} == {
        "grid": "",
        "other": "",
        "train": "grid",
    }


def test_the_flow_page_tags_a_mapped_task(admin_client):
    flow = register_task_pipeline("mapped", pipeline(map_over="grid"))
    page = admin_client.get(reverse("admin:flowforge_admin_flow_change", args=[flow.pk])).content.decode()
    assert page.count("mapped over grid") == 1
