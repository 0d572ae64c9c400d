"""The task key ``sensor``: the same rules at every entrance (code, import file, admin form)."""

import json

import pytest
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions import store
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.sensors import DEFAULT_INTERVAL, DEFAULT_TIMEOUT, sensor_settings
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, Task
from tests.conftest import DEMO, make_flow, task_row

from .files.conftest import definitions, export, rows_file

pytestmark = pytest.mark.django_db

FUNCTION = DEMO + "prepare_batch"
SENSOR = {"interval": 30, "timeout": 600, "on_timeout": "skip"}

# (sensor value, the message's end): each wrong in one way.
BAD = [
    ("every minute", "must be an object such as"),
    ({"interval": 0}, "interval must be a whole number of seconds from 1 to 2147483647, not 0"),
    ({"interval": 1.5}, "interval must be a whole number of seconds from 1 to 2147483647, not 1.5"),
    ({"timeout": True}, "timeout must be a whole number of seconds from 1 to 2147483647, not True"),
    ({"timeout": -5}, "timeout must be a whole number of seconds from 1 to 2147483647, not -5"),
    ({"on_timeout": "retry"}, 'on_timeout must be "fail" or "skip", not \'retry\''),
    ({"every": 5}, "has no key 'every' (its keys: interval, timeout, on_timeout)"),
]
BAD_IDS = [
    "text",
    "zero interval",
    "fraction",
    "bool timeout",
    "negative timeout",
    "on_timeout",
    "unknown key",
]


def pipeline(sensor, function=FUNCTION):
    return {
        "wait": {"function": function, "sensor": sensor},
        "then": {"function": FUNCTION, "depends_on": ["wait"]},
    }


def test_a_sensor_is_stored_and_snapshotted_with_its_settings_and_defaults():
    flow = register_task_pipeline("sensing", pipeline(SENSOR))
    assert dict(flow.tasks.values_list("name", "sensor")) == {"wait": SENSOR, "then": None}
    tasks = {task.name: task.canonical() for task in store.read_flow_spec(flow).tasks}
    assert tasks["wait"]["sensor"] == SENSOR
    assert "sensor" not in tasks["then"]  # no sensor, no key: older definitions keep their hash
    assert sensor_settings(tasks["wait"]) == (30, 600, "skip")
    assert sensor_settings({"sensor": {}}) == (DEFAULT_INTERVAL, DEFAULT_TIMEOUT, "fail")
    assert sensor_settings(tasks["then"]) is None


@pytest.mark.parametrize(("sensor", "message"), BAD, ids=BAD_IDS)
def test_a_bad_sensor_from_code_is_refused_naming_flow_task_and_key(sensor, message):
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline("sensing", pipeline(sensor))
    assert "flow 'sensing', task 'wait', sensor: " in str(raised.value)
    assert message in str(raised.value)
    assert not Flow.objects.filter(name="sensing").exists()


def test_a_sensor_needs_a_function_and_cannot_be_a_group():
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline(
            "sensing",
            {
                "empty": {"sensor": {}},
                "group": {
                    "function": FUNCTION,
                    "sensor": {},
                    "nested_tasks": {"child": {"function": FUNCTION}},
                },
            },
        )
    text = str(raised.value)
    assert "task 'empty', sensor: a sensor needs a function to check its condition" in text
    assert "task 'group', sensor: a group cannot be a sensor: its tasks can" in text


@pytest.mark.parametrize("format_name", ["json", "csv"])
def test_an_import_file_with_a_bad_sensor_changes_nothing(format_name):
    make_flow("kept", [TaskSpec(name="a", function=FUNCTION)])
    before = definitions()
    rows = [
        task_row("kept", "a", sensor=json.dumps({"interval": 5})),
        task_row("new", "b", sensor=json.dumps({"interval": 0})),
        task_row("new2", "c", sensor="[1, 2]"),
    ]
    plan = import_file(rows_file(rows, format_name), format_name)
    assert [(issue.row, issue.column) for issue in plan.issues] == [(2, "sensor"), (3, "sensor")]
    assert "interval must be a whole number of seconds" in plan.issues[0].message
    assert "must be a JSON object" in plan.issues[1].message
    assert definitions() == before


def test_the_sensor_goes_through_export_and_import():
    make_flow("sensing", [TaskSpec(name="wait", function=FUNCTION, sensor=SENSOR), TaskSpec(name="then")])
    content = export("json")
    assert [row["sensor"] for row in json.loads(content)] == [json.dumps(SENSOR, sort_keys=True), ""]
    Flow.objects.all().delete()
    plan = import_file(content, "json")
    assert plan.is_valid, plan.issues
    assert dict(Task.objects.values_list("name", "sensor")) == {"wait": SENSOR, "then": None}
    # The same file again changes nothing; a changed interval is a changed task.
    assert import_file(content, "json").flows[0].status == "unchanged"
    changed = rows_file([task_row("sensing", "wait", sensor=json.dumps({"interval": 5}))])
    assert import_file(changed, "json").flows[0].tasks_changed == [("wait", ["sensor"])]


def task_form(flow, **fields):
    data = {
        "flow": flow.pk,
        "parent": "",
        "name": "wait",
        "verbose_name": "",
        "function": FUNCTION,
        "params": "{}",
        "retries": 0,
        "retry_delay": 0,
        "timeout": "",
        "depends_on": [],
    }
    return {**data, **fields}


def test_the_task_form_sets_a_sensor_and_refuses_a_bad_one(editor_client):
    flow = make_flow("sensing")
    add_url = reverse("admin:flowforge_admin_task_add")

    response = editor_client.post(add_url, task_form(flow, sensor='{"interval": 0}'))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["sensor"] == ["interval must be a whole number of seconds from 1 to 2147483647, not 0"]
    assert not flow.tasks.exists()

    assert editor_client.post(add_url, task_form(flow, sensor='{"interval": 5}')).status_code == 302
    assert flow.tasks.get().sensor == {"interval": 5}
    # Left empty: an ordinary task.
    other = task_form(flow, name="plain", sensor="")
    assert editor_client.post(add_url, other).status_code == 302
    assert flow.tasks.get(name="plain").sensor is None


def test_the_graph_and_the_api_show_each_tasks_sensor(admin_client):
    flow = make_flow(
        "sensing", [TaskSpec(name="wait", function=FUNCTION, sensor=SENSOR), TaskSpec(name="then")]
    )
    data = admin_client.get(reverse("admin:flowforge_admin_flow_graph_data", args=[flow.pk])).json()
    assert {task["name"]: task["sensor"] for task in data["tasks"]} == {"wait": SENSOR, "then": None}
