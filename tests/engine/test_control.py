"""retry_task, mark_task and clear_tasks: one state change each, on finished and running runs."""

import pytest

from flowforge_admin.api import (
    clear_tasks,
    launch_flow,
    mark_task,
    register_task_pipeline,
    retry_task,
    run_flow,
)
from flowforge_admin.engine.dispatch import local_queue
from flowforge_admin.engine.local import _execute
from flowforge_admin.engine.recovery import recover_lost_attempt
from flowforge_admin.engine.worker import claim, record_failure, record_success
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import TaskLog
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import run_actions, side_effects, statuses
from .invariants import run_problems

pytestmark = pytest.mark.django_db


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


def test_mark_succeeded_inside_a_group_finishes_the_group_and_what_waits(db):
    """Issue 16: the group follows its marked child, its downstream runs, the run finishes."""
    flow = register_task_pipeline(
        "group_mark_ok",
        {
            "g": {"nested_tasks": {"x": {"function": t.fail}}},
            "after": {"function": t.gather, "depends_on": ["g"]},
        },
    )
    run = run_flow(flow)
    assert statuses(run) == {"g": TaskState.FAILED, "x": TaskState.FAILED, "after": TaskState.UPSTREAM_FAILED}
    run_actions(lambda: mark_task(run.task_runs.get(task_name="x"), TaskState.SUCCEEDED, "done by hand"))
    assert set(statuses(run).values()) == {TaskState.SUCCEEDED}
    assert run.status == RunState.SUCCEEDED


def test_mark_succeeded_in_nested_groups_runs_the_outer_group_function_and_downstream(db):
    flow = register_task_pipeline(
        "nested_mark_ok",
        {
            "outer": {
                "function": t.gather,
                "nested_tasks": {"inner": {"nested_tasks": {"x": {"function": t.fail}}}},
            },
            "after": {"function": t.gather, "depends_on": ["outer"]},
        },
    )
    run = run_flow(flow)
    assert statuses(run)["outer"] == TaskState.FAILED
    run_actions(lambda: mark_task(run.task_runs.get(task_name="x"), TaskState.SUCCEEDED, "fixed"))
    assert set(statuses(run).values()) == {TaskState.SUCCEEDED}
    assert run.status == RunState.SUCCEEDED
    assert run.task_runs.get(task_name="outer").output["upstream"] == ["inner"]
    assert run_problems(run) == []


def test_mark_failed_inside_a_succeeded_group_fails_the_group(db, marker_dir):
    """The group follows its tasks; what already ran after it is kept."""
    flow = register_task_pipeline(
        "group_mark_failed",
        {
            "g": {"nested_tasks": {"x": {"function": t.work}, "y": {"function": t.work}}},
            "after": {"function": t.work, "depends_on": ["g"]},
        },
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.SUCCEEDED
    mark_task(run.task_runs.get(task_name="x"), TaskState.FAILED, "wrong data")
    assert statuses(run) == {
        "g": TaskState.FAILED,
        "x": TaskState.FAILED,
        "y": TaskState.SUCCEEDED,
        "after": TaskState.SUCCEEDED,
    }
    assert run.status == RunState.FAILED
    assert run_problems(run) == []


@pytest.fixture
def group_with_function(db, marker_dir):
    """g (own function, after its task) { x }: launched, x run, g's own attempt 1 queued."""
    flow = register_task_pipeline(
        "group_function", {"g": {"function": t.gather, "nested_tasks": {"x": {"function": t.work}}}}
    )
    with local_queue() as queue:
        run = launch_flow(flow, {"marker_dir": str(marker_dir)})
        _execute(*queue.next_ready())
        message = queue.next_ready()
    assert statuses(run) == {"g": TaskState.QUEUED, "x": TaskState.SUCCEEDED}
    return run, message


def test_mark_failed_while_the_group_function_is_queued_fails_the_group(group_with_function):
    run, message = group_with_function
    mark_task(run.task_runs.get(task_name="x"), TaskState.FAILED, "wrong data")
    assert statuses(run) == {"g": TaskState.FAILED, "x": TaskState.FAILED}
    assert run.status == RunState.FAILED
    _execute(*message)  # its message, when it arrives, changes nothing
    assert statuses(run)["g"] == TaskState.FAILED
    assert run_problems(run) == []


def test_a_group_function_attempt_overtaken_by_a_clear_records_nothing(group_with_function, marker_dir):
    """Cleared, x runs again and g with it; g's worker, still on attempt 1, must not finish g early."""
    run, message = group_with_function
    task_run_id, attempt, run_id, _ = message
    assert claim(task_run_id, attempt, run_id) is not None  # a worker runs g's function
    with local_queue() as queue:
        clear_tasks(run, ["x"], downstream=False)
        assert statuses(run) == {"g": TaskState.RUNNING, "x": TaskState.QUEUED}
        record_success(run.pk, "g", attempt, {"late": True})  # g's worker finishes
        assert statuses(run) == {"g": TaskState.RUNNING, "x": TaskState.QUEUED}
        record_failure(run.pk, "g", attempt, "late failure")
        assert recover_lost_attempt(run.pk, "g", attempt) == 0
        while (ready := queue.next_ready()) is not None:
            _execute(*ready)
    assert statuses(run) == {"g": TaskState.SUCCEEDED, "x": TaskState.SUCCEEDED}
    assert run.task_runs.get(task_name="g").attempt == 2
    assert side_effects(marker_dir) == ["x", "x"]
    assert run_problems(run) == []


def test_marking_the_last_running_task_of_a_group_finishes_the_group_where_it_runs(db):
    """The group is not started again: it keeps its start time and ends with its task."""
    flow = register_task_pipeline(
        "group_mark_running", {"g": {"nested_tasks": {"x": {"function": t.gather}}}}
    )
    with local_queue():
        run = launch_flow(flow)
        started = run.task_runs.get(task_name="g").started_at
        mark_task(run.task_runs.get(task_name="x"), TaskState.FAILED, "stop it")
    assert statuses(run) == {"g": TaskState.FAILED, "x": TaskState.FAILED}
    assert run.task_runs.get(task_name="g").started_at == started
    assert run_problems(run) == []
