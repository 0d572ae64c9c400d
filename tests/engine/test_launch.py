"""engine/launch.py: a run, its snapshot, its task runs and its first enqueues, in one transaction."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine import pools
from flowforge_admin.engine.launch import launch, resolve_flow
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import Flow, FlowRun, RunSnapshot, TaskRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import messages, task_run

pytestmark = pytest.mark.django_db


def fan_out(width):
    return register_task_pipeline(
        f"fan{width}", {f"t{n}": {"function": t.takes_only_n, "params": {"n": n}} for n in range(width)}
    )


def launch_statements(flow):
    """Run the launch; return the run and its statements but the task runs' creation (Django's bulk_create)."""
    with CaptureQueriesContext(connection) as captured:
        run = launch_flow(flow)
    return run, [
        query["sql"]
        for query in captured
        if "SAVEPOINT" not in query["sql"]
        and not query["sql"].startswith('INSERT INTO "flowforge_admin_taskrun"')
    ]


def test_a_launch_costs_the_same_statements_for_3_tasks_as_for_600():
    """One update queues every ready task and one insert writes their messages (per 500 or 300 of them)."""
    pools.default_limit()  # read once per process and kept (engine/pools.py): not part of either launch
    _, small = launch_statements(fan_out(3))
    run, large = launch_statements(fan_out(600))
    # 600 tasks take one more update (500 a time) and one more insert (300 a time).
    assert len(large) == len(small) + 2, "\n".join(large)
    assert run.queued_count == 600
    assert set(run.task_runs.values_list("status", "attempt").distinct()) == {(TaskState.QUEUED, 1)}
    sent = sorted(message.task["args"] for message in OrmQ.objects.all() if message.task["args"][2] == run.pk)
    assert sent == sorted((pk, 1, run.pk) for pk in run.task_runs.values_list("pk", flat=True))


def test_launch_enqueues_only_the_first_ready_tasks_after_commit(launched):
    a = task_run(launched, "a")
    assert launched.status == RunState.QUEUED
    assert messages() == [(a.pk, 1)]
    assert (a.status, a.attempt) == (TaskState.QUEUED, 1)
    assert launched.pending_count == 3
    assert launched.queued_count == 1


def test_a_flow_is_found_by_itself_or_by_its_name(diamond):
    assert resolve_flow(diamond) is diamond
    assert resolve_flow("diamond") == diamond


@pytest.mark.parametrize("name", ["ghost", "bad\x00name"])
def test_an_unknown_flow_name_is_a_validation_error(django_assert_max_num_queries, name):
    """A name no flow can have (NUL: a database may refuse the text) is refused without a query."""
    with django_assert_max_num_queries(0 if "\x00" in name else 1), pytest.raises(ValidationError) as refused:
        resolve_flow(name)
    assert (refused.value.messages, refused.value.code) == (
        [f"there is no flow named {name!r}"],
        "unknown_flow",
    )


def test_the_run_records_what_was_launched_by_whom(diamond, marker_dir):
    user = User.objects.create_user("ops")
    params = {"marker_dir": str(marker_dir)}
    run = launch(diamond, params, triggered_by=FlowRun.Trigger.USER, user=user)
    assert (run.flow, run.flow_name, run.flow_version, run.params) == (
        diamond,
        "diamond",
        diamond.version,
        params,
    )
    assert (run.triggered_by, run.triggered_by_user, run.schedule) == (FlowRun.Trigger.USER, user, None)
    snapshot = RunSnapshot.objects.get(run=run).data
    assert (snapshot["flow"], [task["name"] for task in snapshot["tasks"]]) == (
        "diamond",
        ["a", "b", "c", "d"],
    )


def test_one_task_run_per_task_groups_included_with_its_retries(db):
    flow = register_task_pipeline(
        "grouped",
        {
            "g": {"nested_tasks": {"x": {"function": t.work, "retries": 2}}},
            "after": {"function": t.gather, "depends_on": ["g"]},
        },
    )
    run = launch(flow)
    rows = {row.task_name: (row.status, row.attempt, row.max_attempts) for row in run.task_runs.all()}
    assert rows == {
        "g": (TaskState.RUNNING, 0, 1),  # a group starts at launch: its children may then start
        "x": (TaskState.QUEUED, 1, 3),
        "after": (TaskState.PENDING, 0, 1),
    }
    assert (run.status, run.pending_count, run.running_count, run.queued_count) == (RunState.QUEUED, 1, 1, 1)


def test_a_paused_flow_is_refused_and_nothing_is_created(diamond):
    Flow.objects.filter(pk=diamond.pk).update(is_paused=True)
    with pytest.raises(InvalidTransition, match="flow 'diamond' is paused: resume it before launching a run"):
        launch("diamond")
    assert not FlowRun.objects.exists()
    assert not OrmQ.objects.exists()


def test_bad_parameters_are_refused_and_nothing_is_created(db):
    flow = register_task_pipeline(
        "typed",
        {"a": {"function": t.echo}},
        params_schema={"type": "object", "properties": {"size": {"type": "integer"}}},
    )
    with pytest.raises(ValidationError, match="size"):
        launch(flow, {"size": "big"})
    assert not FlowRun.objects.exists()
    assert not TaskRun.objects.exists()
    assert not OrmQ.objects.exists()
