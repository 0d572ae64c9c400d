"""The task key ``approval``: the same rules at every entrance (code, import file, admin form)."""

import json

import pytest
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions import store
from flowforge_admin.definitions.approvals import approval_settings
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, Task
from tests.conftest import DEMO, make_flow, task_row

from .files.conftest import definitions, export, rows_file

pytestmark = pytest.mark.django_db

FUNCTION = DEMO + "prepare_batch"
APPROVAL = {
    "group": "Model reviewers",
    "params_schema": {"type": "object", "properties": {"threshold": {"type": "number"}}},
    "timeout": 86400,
}

# (approval value, the message's end): each wrong in one way.
BAD = [
    ("reviewers", "must be an object such as"),
    ({"groups": ["a"]}, "has no key 'groups' (its keys: group, params_schema, timeout)"),
    ({"group": ""}, "group must be the name of a Django group (1 to 150 characters), not ''"),
    ({"group": " ops"}, "group must be the name of a Django group (1 to 150 characters), not ' ops'"),
    ({"group": 7}, "group must be the name of a Django group (1 to 150 characters), not 7"),
    ({"timeout": 0}, "timeout must be a whole number of seconds from 1 to 2147483647, not 0"),
    ({"timeout": "1d"}, "timeout must be a whole number of seconds from 1 to 2147483647, not '1d'"),
    ({"params_schema": {"type": "objekt"}}, "params_schema "),
    ({"params_schema": []}, "params_schema must be a JSON Schema object"),
]
BAD_IDS = [
    "text",
    "unknown key",
    "empty group",
    "spaced group",
    "group number",
    "zero timeout",
    "text timeout",
    "bad schema",
    "schema list",
]


def pipeline(approval, **review):
    return {
        "train": {"function": FUNCTION},
        "review": {"approval": approval, "depends_on": ["train"], **review},
        "deploy": {"function": FUNCTION, "depends_on": ["review"]},
    }


def test_an_approval_step_is_stored_and_snapshotted_with_its_settings():
    flow = register_task_pipeline("reviewed", pipeline(APPROVAL))
    assert dict(flow.tasks.values_list("name", "approval")) == {
        "train": None,
        "review": APPROVAL,
        "deploy": None,
    }
    tasks = {task.name: task.canonical() for task in store.read_flow_spec(flow).tasks}
    assert tasks["review"]["approval"] == APPROVAL
    assert "approval" not in tasks["deploy"]  # no approval, no key: older definitions keep their hash
    assert approval_settings(tasks["review"]) == ("Model reviewers", APPROVAL["params_schema"], 86400)
    assert approval_settings({"approval": {}}) == ("", None, None)
    assert approval_settings(tasks["deploy"]) is None
    # Registered again unchanged: the same version.
    assert register_task_pipeline("reviewed", pipeline(APPROVAL)).version == flow.version


@pytest.mark.parametrize(("approval", "message"), BAD, ids=BAD_IDS)
def test_a_bad_approval_from_code_is_refused_naming_flow_task_and_key(approval, message):
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline("reviewed", pipeline(approval))
    assert "flow 'reviewed', task 'review', approval: " in str(raised.value)
    assert message in str(raised.value)
    assert not Flow.objects.filter(name="reviewed").exists()


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"function": FUNCTION}, "function"),
        ({"sensor": {"interval": 5}, "function": FUNCTION}, "sensor"),
        ({"pool": "gpu"}, "pool"),
    ],
)
def test_an_approval_step_runs_nothing_on_a_worker(extra, key):
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline("reviewed", pipeline({}, **extra))
    assert (
        f"task 'review', approval: an approval step is decided by a person and runs nothing on a worker: "
        f"it cannot have a {key}"
    ) in str(raised.value)


def test_a_group_cannot_be_an_approval_step():
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline(
            "reviewed", {"group": {"approval": {}, "nested_tasks": {"child": {"function": FUNCTION}}}}
        )
    assert "task 'group', approval: a group cannot be an approval step: its tasks can" in str(raised.value)


@pytest.mark.parametrize("format_name", ["json", "csv"])
def test_an_import_file_with_a_bad_approval_changes_nothing(format_name):
    make_flow("kept", [TaskSpec(name="a", function=FUNCTION)])
    before = definitions()
    rows = [
        task_row("kept", "a", function="", approval=json.dumps({"group": "ops"})),
        task_row("new", "b", function="", approval=json.dumps({"timeout": -1})),
        task_row("new2", "c", function="", approval="[1]"),
    ]
    plan = import_file(rows_file(rows, format_name), format_name)
    assert [(issue.row, issue.column) for issue in plan.issues] == [(2, "approval"), (3, "approval")]
    assert "timeout must be a whole number of seconds" in plan.issues[0].message
    assert "must be a JSON object" in plan.issues[1].message
    assert definitions() == before


def test_the_approval_goes_through_export_and_import():
    make_flow("reviewed", [TaskSpec(name="review", approval=APPROVAL), TaskSpec(name="then")])
    content = export("json")
    assert [row["approval"] for row in json.loads(content)] == [json.dumps(APPROVAL, sort_keys=True), ""]
    Flow.objects.all().delete()
    plan = import_file(content, "json")
    assert plan.is_valid, plan.issues
    assert dict(Task.objects.values_list("name", "approval")) == {"review": APPROVAL, "then": None}
    assert import_file(content, "json").flows[0].status == "unchanged"
    changed = rows_file([task_row("reviewed", "review", function="", approval=json.dumps({"timeout": 60}))])
    assert import_file(changed, "json").flows[0].tasks_changed == [("review", ["approval"])]


def test_the_task_form_sets_an_approval_and_refuses_a_bad_one(editor_client):
    flow = make_flow("reviewed")
    add_url = reverse("admin:flowforge_admin_task_add")
    data = {
        "flow": flow.pk,
        "parent": "",
        "name": "review",
        "verbose_name": "",
        "function": "",
        "params": "{}",
        "retries": 0,
        "retry_delay": 0,
        "timeout": "",
        "depends_on": [],
    }
    response = editor_client.post(add_url, {**data, "approval": '{"timeout": 0}'})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["approval"] == ["timeout must be a whole number of seconds from 1 to 2147483647, not 0"]
    assert not flow.tasks.exists()
    assert editor_client.post(add_url, {**data, "approval": '{"group": "ops"}'}).status_code == 302
    assert flow.tasks.get().approval == {"group": "ops"}


def test_the_graph_and_the_api_show_each_tasks_approval(admin_client):
    flow = make_flow("reviewed", [TaskSpec(name="review", approval=APPROVAL), TaskSpec(name="then")])
    data = admin_client.get(reverse("admin:flowforge_admin_flow_graph_data", args=[flow.pk])).json()
    assert {task["name"]: task["approval"] for task in data["tasks"]} == {"review": APPROVAL, "then": None}
    api = admin_client.get(reverse("flowforge_admin:api-flow-detail", args=["reviewed"])).json()
    assert {task["name"]: task["approval"] for task in api["tasks"]} == {"review": APPROVAL, "then": None}
