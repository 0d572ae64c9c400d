"""A launch over FLOWFORGE_LAUNCH_INLINE_TASKS: the run and its task runs at once, its start in a worker.

The threshold is lowered to 2 here, so three tasks make a "big" launch; the
real cluster's side is in test_routing_cluster.py.
"""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from flowforge_admin.api import cancel_run, launch_flow, register_task_pipeline
from flowforge_admin.engine import recovery
from flowforge_admin.engine.launch import START_ENTRY, start_launched
from flowforge_admin.models import FlowRun, Pool, Task
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import messages, statuses

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.FLOWFORGE_LAUNCH_INLINE_TASKS = 2


@pytest.fixture
def three(db):
    """a, b -> c: two roots and the task after them."""
    return register_task_pipeline(
        "three",
        {
            "a": {"function": t.takes_only_n, "params": {"n": 1}},
            "b": {"function": t.takes_only_n, "params": {"n": 2}},
            "c": {"function": t.takes_only_n, "params": {"n": 3}, "depends_on": ["a", "b"]},
        },
    )


def launch_committed(django_capture_on_commit_callbacks, flow):
    with django_capture_on_commit_callbacks(execute=True):
        return launch_flow(flow)


def start_messages():
    return [
        message.task["args"] for message in OrmQ.objects.order_by("id") if message.task["func"] == START_ENTRY
    ]


def test_a_big_launch_writes_every_task_run_and_sends_one_start_message(
    three, django_capture_on_commit_callbacks
):
    run = launch_committed(django_capture_on_commit_callbacks, three)
    assert run.status == RunState.QUEUED
    assert statuses(run) == {"a": "pending", "b": "pending", "c": "pending"}
    assert (run.pending_count, run.queued_count) == (3, 0)
    assert start_messages() == [(run.pk,)]
    assert messages_of_tasks() == []


def messages_of_tasks():
    return [message for message in OrmQ.objects.all() if message.task["func"] != START_ENTRY]


def test_the_worker_starts_the_ready_tasks_and_a_second_delivery_starts_nothing(
    three, django_capture_on_commit_callbacks
):
    run = launch_committed(django_capture_on_commit_callbacks, three)
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        start_launched(run.pk)
    assert statuses(run) == {"a": "queued", "b": "queued", "c": "pending"}
    assert (run.pending_count, run.queued_count) == (1, 2)
    sent = messages()
    assert sorted(sent) == sorted(run.task_runs.filter(task_name__in=["a", "b"]).values_list("pk", "attempt"))
    with django_capture_on_commit_callbacks(execute=True):
        start_launched(run.pk)  # the message delivered again
    assert messages() == sent
    assert statuses(run) == {"a": "queued", "b": "queued", "c": "pending"}


def test_a_run_cancelled_before_its_start_message_starts_nothing(three, django_capture_on_commit_callbacks):
    run = launch_committed(django_capture_on_commit_callbacks, three)
    cancel_run(run)
    OrmQ.objects.all().delete()
    start_launched(run.pk)
    run.refresh_from_db()
    assert run.status == RunState.CANCELLED
    assert set(statuses(run).values()) == {TaskState.CANCELLED}
    assert OrmQ.objects.count() == 0


def test_a_run_deleted_before_its_start_message_is_not_an_error(three, django_capture_on_commit_callbacks):
    run = launch_committed(django_capture_on_commit_callbacks, three)
    FlowRun.objects.filter(pk=run.pk).delete()
    start_launched(run.pk)
    assert not FlowRun.objects.exists()


def test_the_lost_work_check_starts_a_big_launch_only_once_its_message_had_time(
    three, django_capture_on_commit_callbacks
):
    run = launch_committed(django_capture_on_commit_callbacks, three)
    OrmQ.objects.all().delete()  # the start message lost
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 0  # young: its message may still come
    assert statuses(run)["a"] == TaskState.PENDING
    FlowRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.check_lost_work() == 1
    assert statuses(run) == {"a": "queued", "b": "queued", "c": "pending"}


def test_small_launches_start_inline(three, settings, django_capture_on_commit_callbacks):
    settings.FLOWFORGE_LAUNCH_INLINE_TASKS = 3
    run = launch_committed(django_capture_on_commit_callbacks, three)
    assert statuses(run) == {"a": "queued", "b": "queued", "c": "pending"}
    assert start_messages() == []


def test_task_runs_get_their_attempts_and_pool_slots(django_capture_on_commit_callbacks):
    Pool.objects.create(name="gpu", slots=4)
    flow = register_task_pipeline(
        "pooled",
        {
            "group": {"nested_tasks": {"inner": {"function": t.takes_only_n, "params": {"n": 1}}}},
            "train": {"function": t.takes_only_n, "params": {"n": 2}, "pool": "gpu", "pool_slots": 2},
            "plain": {"function": t.takes_only_n, "params": {"n": 3}, "retries": 2},
        },
    )
    run = launch_committed(django_capture_on_commit_callbacks, flow)
    rows = {
        name: rest
        for name, *rest in run.task_runs.values_list("task_name", "max_attempts", "pool", "pool_slots")
    }
    assert rows == {
        "group": [1, "", 0],  # a group holds no slot: its tasks do
        "inner": [1, "default", 1],
        "train": [1, "gpu", 2],
        "plain": [3, "default", 1],
    }


def test_a_launch_reads_an_unchanged_definition_once_per_process(three, django_capture_on_commit_callbacks):
    launch_committed(django_capture_on_commit_callbacks, three)
    with CaptureQueriesContext(connection) as again:
        launch_committed(django_capture_on_commit_callbacks, three)
    assert not [query for query in again if 'FROM "flowforge_admin_task"' in query["sql"]]


def test_a_changed_definition_is_read_again(three, django_capture_on_commit_callbacks):
    first = launch_committed(django_capture_on_commit_callbacks, three)
    register_task_pipeline(
        "three",
        {"a": {"function": t.takes_only_n, "params": {"n": 9}}},
        clear_existing_flow_in_db=True,
    )
    second = launch_committed(django_capture_on_commit_callbacks, three)
    assert second.definition.data["version"] == first.definition.data["version"] + 1
    assert [task["params"] for task in second.definition.data["tasks"]] == [{"n": 9}]
    assert set(statuses(second)) == {"a"}


def test_an_edit_in_the_launching_transaction_is_in_its_snapshot(three, django_capture_on_commit_callbacks):
    launch_committed(django_capture_on_commit_callbacks, three)  # the old definition read and kept
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Task.objects.filter(flow=three, name="b").update(params={"n": 7})
        Task.objects.get(flow=three, name="b").save()  # an admin edit: its version syncs at commit
        run = launch_flow(three)
    params = {task["name"]: task["params"] for task in run.definition.data["tasks"]}
    assert params["b"] == {"n": 7}
    assert run.flow_version == run.definition.data["version"] == 2
