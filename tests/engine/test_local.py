"""Whole runs in this process (run_flow): the engine's semantics, with the same code a worker runs."""

import pytest
from django.core.exceptions import ValidationError

from flowforge_admin.api import register_task_pipeline, rerun_failed, run_flow
from flowforge_admin.models import TaskLog
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import outputs, run_actions, side_effects, statuses

pytestmark = pytest.mark.django_db


def test_diamond_runs_in_dependency_order(diamond, marker_dir):
    run = run_flow(diamond, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.SUCCEEDED
    assert set(statuses(run).values()) == {TaskState.SUCCEEDED}
    order = side_effects(marker_dir)
    assert order[0] == "a"
    assert set(order[1:]) == {"b", "c"}
    out = outputs(run)
    assert out["d"]["upstream"] == ["b", "c"]
    assert out["d"]["outputs"]["b"]["task"] == "b"
    assert run.succeeded_count == 4
    assert run.pending_count == 0
    assert run.started_at <= run.finished_at


def test_parameters_are_merged_and_passed_as_declared(db):
    flow = register_task_pipeline(
        "params",
        {
            "echo": {"function": t.echo, "params": {"from_task": 1, "shared": "task"}},
            "only_n": {"function": t.takes_only_n, "params": {"n": 2}},
        },
        params={"from_flow": True, "shared": "flow", "n": 1},
    )
    run = run_flow(flow, {"shared": "run", "n": 21})
    echo = outputs(run)["echo"]
    # run parameters > task defaults > flow defaults; **kwargs gets them all.
    assert echo["kwargs"] == {"from_flow": True, "from_task": 1, "shared": "run", "n": 21}
    assert echo["context_params"] == echo["kwargs"]
    # A function without **kwargs gets only what it declares.
    assert outputs(run)["only_n"] == 42


def test_group_semantics(nested, marker_dir):
    """The group's children start after its upstream; its function runs last; `after` waits for all."""
    run = run_flow(nested, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.SUCCEEDED
    assert side_effects(marker_dir) == ["start", "x", "y"]
    out = outputs(run)
    # Children see the group's upstream; the group's function sees its children.
    assert out["z"]["upstream"] == ["start"]
    assert out["group"]["upstream"] == ["start", "x", "y", "z"]
    assert out["after"]["upstream"] == ["group"]
    ends = {name: out[name]["end"] for name in ("x", "y")}
    assert ends["x"] <= out["y"]["start"]


def test_failure_marks_downstream_and_other_branches_keep_running(failing, marker_dir):
    run = run_flow(failing, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.FAILED
    assert statuses(run) == {
        "ok": TaskState.SUCCEEDED,
        "bad": TaskState.FAILED,
        "never": TaskState.UPSTREAM_FAILED,
        "other": TaskState.SUCCEEDED,
    }
    bad = run.task_runs.get(task_name="bad")
    assert bad.error == "RuntimeError: boom"
    assert "raise RuntimeError(message)" in bad.traceback
    assert "never" not in side_effects(marker_dir)
    assert (run.failed_count, run.upstream_failed_count, run.succeeded_count) == (1, 1, 2)


def test_failure_inside_a_group_fails_the_group_and_what_waits_for_it(db, marker_dir):
    flow = register_task_pipeline(
        "group_fails",
        {
            "group": {"nested_tasks": {"bad": {"function": t.fail}, "fine": {"function": t.work}}},
            "after": {"function": t.work, "depends_on": ["group"]},
        },
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    assert statuses(run) == {
        "group": TaskState.FAILED,
        "bad": TaskState.FAILED,
        "fine": TaskState.SUCCEEDED,
        "after": TaskState.UPSTREAM_FAILED,
    }


def test_upstream_failure_reaches_a_groups_children(db, marker_dir):
    flow = register_task_pipeline(
        "group_never_starts",
        {
            "bad": {"function": t.fail},
            "group": {"depends_on": ["bad"], "nested_tasks": {"inner": {"function": t.work}}},
        },
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    assert statuses(run)["inner"] == TaskState.UPSTREAM_FAILED
    assert statuses(run)["group"] == TaskState.UPSTREAM_FAILED
    assert run.status == RunState.FAILED


def test_retry_then_success(db, marker_dir):
    flow = register_task_pipeline(
        "retry", {"flaky": {"function": t.fail_first, "retries": 2, "params": {"failures": 2}}}
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    flaky = run.task_runs.get()
    assert (flaky.status, flaky.attempt, flaky.max_attempts) == (TaskState.SUCCEEDED, 3, 3)
    assert flaky.output == {"attempt": 3}
    assert side_effects(marker_dir) == ["flaky attempt 1", "flaky attempt 2", "flaky attempt 3"]
    # Every attempt's log stays readable; each retry's opens with its start.
    assert sorted(set(TaskLog.objects.filter(task_run=flaky).values_list("attempt", flat=True))) == [1, 2, 3]
    assert flaky.logs.filter(attempt=3).order_by("id").first().message == "Attempt 3 started."


def test_retries_run_out(db, marker_dir):
    flow = register_task_pipeline(
        "retries_out", {"flaky": {"function": t.fail_first, "retries": 1, "params": {"failures": 5}}}
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    flaky = run.task_runs.get()
    assert (flaky.status, flaky.attempt) == (TaskState.FAILED, 2)
    assert flaky.error == "ValueError: attempt 2 fails on purpose"


def test_retry_delay_waits_with_backoff(db, marker_dir, monkeypatch):
    """In process, the delay is slept: 1 s, then 2 s (doubling)."""
    slept = []
    monkeypatch.setattr("flowforge_admin.engine.local.time.sleep", slept.append)
    flow = register_task_pipeline(
        "backoff",
        {"flaky": {"function": t.fail_first, "retries": 2, "retry_delay": 1, "params": {"failures": 2}}},
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.SUCCEEDED
    assert [round(s) for s in slept] == [1, 2]


def test_output_that_is_not_json_is_stored_as_an_artifact(db):
    flow = register_task_pipeline("not_json", {"obj": {"function": t.not_json}})
    run = run_flow(flow)
    task_run = run.task_runs.select_related("artifact").get()
    assert task_run.status == TaskState.SUCCEEDED
    assert task_run.output is None
    assert task_run.artifact.serializer == "pickle"
    assert task_run.artifact.preview["text"].startswith("{'value': <object object at 0x")


def test_output_that_cannot_be_stored_fails_the_task(db):
    flow = register_task_pipeline("unstorable", {"bad": {"function": t.unstorable}})
    run = run_flow(flow)
    bad = run.task_runs.get()
    assert bad.status == TaskState.FAILED
    assert bad.error.startswith(
        "ArtifactError: the task's output (generator) cannot be stored: pickle: TypeError: cannot pickle"
    )


def test_timeout_in_process(db, marker_dir):
    flow = register_task_pipeline(
        "slow", {"slow": {"function": t.work, "timeout": 1, "params": {"seconds": 3}}}
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    slow = run.task_runs.get()
    assert slow.status == TaskState.FAILED
    assert slow.error.startswith("timed out after 1 s")
    assert side_effects(marker_dir) == []


def test_logs_are_captured_per_task_and_attempt(db):
    flow = register_task_pipeline("talk", {"talk": {"function": t.talk, "params": {"seconds": 0}}})
    run = run_flow(flow)
    lines = list(
        TaskLog.objects.filter(task_run__run=run).values_list("attempt", "level", "source", "message")
    )
    assert (1, 20, "tests.engine_tasks", "talk log line 0") in lines
    assert (1, 20, "stdout", "talk print line 2") in lines
    assert (1, 30, "stderr", "talk to stderr") in lines
    assert len(lines) == 7


def test_rerun_failed_keeps_succeeded_outputs(db, marker_dir):
    flow = register_task_pipeline(
        "rerun",
        {
            "first": {"function": t.work},
            "flaky": {"function": t.fail_first, "depends_on": ["first"], "params": {"failures": 1}},
            "last": {"function": t.work, "depends_on": ["flaky"]},
        },
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.FAILED
    first_output = outputs(run)["first"]
    run_actions(lambda: rerun_failed(run))
    run.refresh_from_db()
    assert run.status == RunState.SUCCEEDED
    assert outputs(run)["first"] == first_output
    assert side_effects(marker_dir) == ["first", "flaky attempt 1", "flaky attempt 2", "last"]
    assert run.task_runs.get(task_name="flaky").attempt == 2


def test_rerun_gives_each_task_its_retries_again(db, marker_dir):
    flow = register_task_pipeline(
        "rerun_retries", {"flaky": {"function": t.fail_first, "retries": 1, "params": {"failures": 3}}}
    )
    run = run_flow(flow, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.FAILED
    run_actions(lambda: rerun_failed(run))
    run.refresh_from_db()
    flaky = run.task_runs.get()
    # Attempt 3 failed, and the re-run's one retry (attempt 4) succeeded.
    assert (run.status, flaky.attempt, flaky.max_attempts) == (RunState.SUCCEEDED, 4, 4)


def test_bad_params_create_nothing(diamond):
    with pytest.raises(ValidationError, match="parameter names must be Python identifiers"):
        run_flow(diamond, {"not valid": 1})
    assert not diamond.runs.exists()
