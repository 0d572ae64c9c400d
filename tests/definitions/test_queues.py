"""The task key ``queue`` (a Django-Q2 cluster name): the same rules at every entrance.

Any valid cluster name is accepted unless ``FLOWFORGE_QUEUES`` lists the
known ones; then only those and the project's own cluster are.
"""

import json

import pytest
from django.test import override_settings
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions import store
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, Task
from flowforge_admin.queues import default_queue
from tests.conftest import DEMO, make_flow, task_row

from .files.conftest import definitions, export, rows_file

pytestmark = pytest.mark.django_db

FUNCTION = DEMO + "prepare_batch"
KNOWN = ["gpu", "io"]


def pipeline(queue):
    return {"train": {"function": FUNCTION, "queue": queue}, "report": {"function": FUNCTION}}


def test_a_routed_task_is_stored_and_snapshotted_with_its_queue():
    flow = register_task_pipeline("routed", pipeline("gpu"))

    assert dict(flow.tasks.values_list("name", "queue")) == {"train": "gpu", "report": ""}
    tasks = {task.name: task for task in store.read_flow_spec(flow).tasks}
    assert tasks["train"].canonical()["queue"] == "gpu"
    # No queue, no key: definitions stored before queues keep their hash and version.
    assert "queue" not in tasks["report"].canonical()


def test_a_definition_without_queues_keeps_the_hash_it_had_before_queues():
    """The hash of this definition on the release before the queue key (computed there)."""
    spec = FlowSpec(
        name="etl",
        tasks=(
            TaskSpec(name="a", function="m.f", retries=2, timeout=60),
            TaskSpec(name="b", depends_on=("a",)),
        ),
        params={"x": 1},
    )
    assert spec.signature() == "2e87da1e0d1d0b8184245183912149556b0c0c7c83ef1f92f65daea124530d38"


def test_changing_the_queue_is_a_new_version():
    flow = register_task_pipeline("routed", pipeline(""))
    again = register_task_pipeline("routed", pipeline(""))
    assert again.version == flow.version
    assert register_task_pipeline("routed", pipeline("gpu")).version == flow.version + 1


def test_without_the_setting_any_valid_cluster_name_is_accepted():
    flow = register_task_pipeline("routed", pipeline("gpu-box_2"))
    assert flow.tasks.get(name="train").queue == "gpu-box_2"


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        (
            "gpu box",
            "flow 'routed', task 'train', queue: must be a Django-Q2 cluster name: 'gpu box' may contain",
        ),
        (
            "q" * 101,
            "queue: must be a Django-Q2 cluster name: '" + "q" * 101 + "' is longer than 100 characters",
        ),
        (5, "flow 'routed', task 'train', queue: must be a Django-Q2 cluster name: must be text, not int"),
    ],
    ids=["space", "too long", "not text"],
)
def test_an_invalid_cluster_name_is_refused(queue, message):
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline("routed", pipeline(queue))
    assert message in str(raised.value)
    assert not Flow.objects.filter(name="routed").exists()


@override_settings(FLOWFORGE_QUEUES=KNOWN)
def test_with_the_setting_an_unknown_queue_is_refused_naming_the_known_ones():
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline("routed", pipeline("gpux"))
    assert str(raised.value) == (
        "flow 'routed', task 'train', queue: 'gpux' is not a known queue: FLOWFORGE_QUEUES lists gpu, io "
        f"(and the project's own cluster is {default_queue()})"
    )
    assert not Flow.objects.filter(name="routed").exists()


@override_settings(FLOWFORGE_QUEUES=KNOWN)
def test_with_the_setting_its_queues_and_the_project_cluster_are_accepted():
    register_task_pipeline("routed", pipeline("io"))
    register_task_pipeline("own", pipeline(default_queue()))
    assert set(Task.objects.filter(name="train").values_list("queue", flat=True)) == {"io", default_queue()}


@override_settings(FLOWFORGE_QUEUES=KNOWN)
@pytest.mark.parametrize("format_name", ["json", "csv"])
def test_an_import_file_with_an_unknown_queue_changes_nothing(format_name):
    make_flow("kept", [TaskSpec(name="a", function=FUNCTION, queue="gpu")])
    before = definitions()
    rows = [task_row("kept", "a", queue="io"), task_row("new", "b", queue="gpux")]

    plan = import_file(rows_file(rows, format_name), format_name)

    assert [(issue.row, issue.column) for issue in plan.issues] == [(2, "queue")]
    assert "'gpux' is not a known queue: FLOWFORGE_QUEUES lists gpu, io" in plan.issues[0].message
    assert definitions() == before


def test_the_queue_goes_through_export_and_import():
    make_flow("routed", [TaskSpec(name="train", function=FUNCTION, queue="gpu"), TaskSpec(name="report")])
    content = export("json")
    assert [row["queue"] for row in json.loads(content)] == ["gpu", ""]
    Flow.objects.all().delete()

    plan = import_file(content, "json")

    assert plan.is_valid, plan.issues
    assert dict(Task.objects.values_list("name", "queue")) == {"train": "gpu", "report": ""}


def test_an_import_that_changes_the_queue_says_so():
    make_flow("routed", [TaskSpec(name="train", function=FUNCTION)])
    plan = import_file(rows_file([task_row("routed", "train", queue="gpu")]), "json")
    assert plan.is_valid, plan.issues
    assert plan.flows[0].tasks_changed == [("train", ["queue"])]


def task_form(flow, **fields):
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
        "depends_on": [],
    }
    return {**data, **fields}


@override_settings(FLOWFORGE_QUEUES=KNOWN)
def test_the_task_form_sets_a_known_queue_and_refuses_an_unknown_one(editor_client):
    flow = make_flow("routed")
    add_url = reverse("admin:flowforge_admin_task_add")

    response = editor_client.post(add_url, task_form(flow, queue="gpux"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["queue"] == [
        f"'gpux' is not a known queue: FLOWFORGE_QUEUES lists gpu, io (and the project's own cluster is "
        f"{default_queue()})"
    ]
    assert not flow.tasks.exists()

    assert editor_client.post(add_url, task_form(flow, queue="gpu")).status_code == 302
    assert flow.tasks.get().queue == "gpu"


def test_the_graph_shows_each_tasks_queue(admin_client):
    flow = make_flow(
        "routed", [TaskSpec(name="train", function=FUNCTION, queue="gpu"), TaskSpec(name="report")]
    )
    data = admin_client.get(reverse("admin:flowforge_admin_flow_graph_data", args=[flow.pk])).json()
    assert {task["name"]: task["queue"] for task in data["tasks"]} == {"train": "gpu", "report": ""}
