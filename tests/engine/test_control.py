"""retry_task and mark_task: one state change each, on finished and running runs."""

import pytest

from flowforge_admin.api import launch_flow, mark_task, register_task_pipeline, retry_task, run_flow
from flowforge_admin.engine.dispatch import local_queue
from flowforge_admin.engine.local import _execute
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import TaskLog
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import side_effects

pytestmark = pytest.mark.django_db


def run_actions(action):
    """Do ``action`` and run in this process whatever it queued."""
    with local_queue() as queue:
        result = action()
        while (ready := queue.next_ready()) is not None:
            _execute(*ready)
    return result


def statuses(run):
    run.refresh_from_db()
    return dict(run.task_runs.values_list("task_name", "status"))


@pytest.fixture
def failed_run(db, marker_dir):
    """first -> flaky (fails its first attempt) -> last; first -> side (succeeds)."""
    flow = register_task_pipeline(
        "control",
        {
            "first": {"function": t.work},
            "flaky": {"function": t.fail_first, "depends_on": ["first"]},
            "last": {"function": t.work, "depends_on": ["flaky"]},
            "side": {"function": t.work, "depends_on": ["first"]},
        },
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    assert statuses(run)["last"] == TaskState.UPSTREAM_FAILED
    return run


def test_retry_task_runs_it_and_what_waits_for_it(failed_run, marker_dir):
    flaky = failed_run.task_runs.get(task_name="flaky")
    run_actions(lambda: retry_task(flaky))
    assert set(statuses(failed_run).values()) == {TaskState.SUCCEEDED}
    assert failed_run.status == RunState.SUCCEEDED
    assert side_effects(marker_dir).count("first") == 1
    assert side_effects(marker_dir)[-1] == "last"


def test_retry_task_refuses_a_task_that_did_not_fail(failed_run):
    with pytest.raises(InvalidTransition, match="task side is succeeded: only failed"):
        retry_task(failed_run.task_runs.get(task_name="side"))


def test_mark_succeeded_lets_downstream_run_and_records_the_reason(failed_run, marker_dir):
    flaky = failed_run.task_runs.get(task_name="flaky")
    run_actions(lambda: mark_task(flaky, TaskState.SUCCEEDED, "fixed by hand in the source system"))
    flaky.refresh_from_db()
    assert flaky.error == "marked succeeded: fixed by hand in the source system"
    assert TaskLog.objects.filter(task_run=flaky, message__startswith="marked succeeded").exists()
    assert statuses(failed_run)["last"] == TaskState.SUCCEEDED
    assert failed_run.status == RunState.SUCCEEDED
    assert side_effects(marker_dir).count("flaky attempt 1") == 1  # not run again


def test_mark_failed_fails_what_waits(db, marker_dir):
    flow = register_task_pipeline(
        "mark_failed", {"a": {"function": t.work}, "b": {"function": t.work, "depends_on": ["a"]}}
    )
    with local_queue() as queue:
        run = launch_flow(flow, {"marker_dir": str(marker_dir)})
        a = run.task_runs.get(task_name="a")
        mark_task(a, TaskState.FAILED, "the source is known to be broken today")
        # a's message, when it arrives, changes nothing.
        while (ready := queue.next_ready()) is not None:
            _execute(*ready)
    assert statuses(run) == {"a": TaskState.FAILED, "b": TaskState.UPSTREAM_FAILED}
    assert run.status == RunState.FAILED
    assert side_effects(marker_dir) == []


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        ("cancelled", "x", "can be marked succeeded or failed"),
        ("succeeded", " ", "a reason is required"),
    ],
)
def test_mark_refuses_bad_requests(failed_run, status, reason, message):
    with pytest.raises(InvalidTransition, match=message):
        mark_task(failed_run.task_runs.get(task_name="flaky"), status, reason)


def test_groups_cannot_be_marked(db):
    flow = register_task_pipeline("group_mark", {"g": {"nested_tasks": {"x": {"function": t.fail}}}})
    run = run_flow(flow)
    with pytest.raises(InvalidTransition, match="is a group"):
        mark_task(run.task_runs.get(task_name="g"), TaskState.SUCCEEDED, "no")
