"""engine/advance.py: what runs next when something happened to a run (downstream, groups, failures).

The worker's part is stood in for: a test moves a task run to its outcome
under the run's lock and calls :func:`task_finished`, as the worker does.
"""

import pytest

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine.advance import fail_attempt, own_attempt, queue_attempt, task_finished
from flowforge_admin.engine.transitions import changing
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from ..conftest import chain_tasks, make_flow
from .conftest import deliver, messages, statuses, task_run

pytestmark = pytest.mark.django_db

S, Q, P, R = TaskState.SUCCEEDED, TaskState.QUEUED, TaskState.PENDING, TaskState.RUNNING


def finish(run, name, status=TaskState.SUCCEEDED, **fields):
    """Record ``name``'s outcome as a worker would, and let the engine react to it."""
    with changing(run.pk) as change:
        assert change.move(name, status, expect=(TaskState.QUEUED, TaskState.RUNNING), **fields)
        task_finished(change, name)


def test_common_downstream_is_enqueued_once(launched, django_capture_on_commit_callbacks):
    a, b, c, d = (task_run(launched, name) for name in "abcd")
    deliver(django_capture_on_commit_callbacks, a.pk, 1)
    assert messages()[1:] == [(b.pk, 1), (c.pk, 1)]
    deliver(django_capture_on_commit_callbacks, b.pk, 1)
    deliver(django_capture_on_commit_callbacks, c.pk, 1)
    deliver(django_capture_on_commit_callbacks, c.pk, 1)  # redelivered: nothing more
    assert messages().count((d.pk, 1)) == 1
    deliver(django_capture_on_commit_callbacks, d.pk, 1)
    launched.refresh_from_db()
    assert launched.status == RunState.SUCCEEDED
    assert launched.succeeded_count == 4


def test_a_finished_task_starts_those_of_its_direct_downstream_that_are_ready(diamond):
    run = launch_flow(diamond)
    finish(run, "a")
    assert statuses(run) == {"a": S, "b": Q, "c": Q, "d": P}
    finish(run, "b")
    assert statuses(run)["d"] == P  # it waits for c too
    finish(run, "c")
    assert statuses(run)["d"] == Q


def test_a_failure_marks_a_long_chain_without_deep_recursion(db):
    """Work is queued, not recursed into: 600 tasks below a failure are all marked."""
    run = launch_flow(make_flow("long", chain_tasks(600)))
    finish(run, "t0", TaskState.FAILED)
    assert set(statuses(run).values()) == {TaskState.FAILED, TaskState.UPSTREAM_FAILED}
    assert (run.status, run.upstream_failed_count) == (RunState.FAILED, 599)


def test_a_group_runs_its_children_then_its_own_function(nested):
    run = launch_flow(nested)
    finish(run, "start")
    assert statuses(run) == {"start": S, "group": R, "x": Q, "y": P, "z": Q, "after": P}
    finish(run, "x")
    finish(run, "z")
    with changing(run.pk) as change:
        assert not own_attempt(change, "group")  # y has not run: the group's function must not either
    finish(run, "y")
    assert statuses(run)["group"] == Q  # all its children succeeded: its function is queued
    assert task_run(run, "group").attempt == 1
    with changing(run.pk) as change:
        assert own_attempt(change, "group")
        assert own_attempt(change, "x")  # always, for a task
    finish(run, "group")
    assert statuses(run)["after"] == Q


@pytest.fixture
def pure_group(db):
    """g(x, y) without a function of its own -> after."""
    return register_task_pipeline(
        "pure",
        {
            "g": {"nested_tasks": {"x": {"function": t.echo}, "y": {"function": t.echo}}},
            "after": {"function": t.gather, "depends_on": ["g"]},
        },
    )


def test_a_group_without_a_function_succeeds_with_its_childrens_outputs(pure_group):
    run = launch_flow(pure_group)
    finish(run, "x", output=1)
    assert statuses(run)["g"] == R
    finish(run, "y", output={"two": 2})
    assert task_run(run, "g").output == {"x": 1, "y": {"two": 2}}
    assert statuses(run) == {"g": S, "x": S, "y": S, "after": Q}


def test_a_group_takes_the_worst_outcome_of_its_children(pure_group):
    run = launch_flow(pure_group)
    finish(run, "x", TaskState.CANCELLED)
    finish(run, "y", TaskState.FAILED)
    assert statuses(run) == {
        "g": TaskState.FAILED,
        "x": TaskState.CANCELLED,
        "y": TaskState.FAILED,
        "after": TaskState.UPSTREAM_FAILED,
    }
    run.refresh_from_db()
    assert run.status == RunState.FAILED


def test_an_attempt_is_queued_only_from_the_status_and_attempt_expected(diamond):
    run = launch_flow(diamond)
    sent = len(messages())
    with changing(run.pk) as change:
        assert not queue_attempt(change, "a", expect=TaskState.RETRYING)
        assert not queue_attempt(change, "a", expect=TaskState.QUEUED, expect_attempt=2)
        assert queue_attempt(change, "a", expect=TaskState.QUEUED, expect_attempt=1, error="again")
    a = task_run(run, "a")
    assert (a.status, a.attempt, a.error) == (TaskState.QUEUED, 2, "again")
    assert messages()[sent:] == [(a.pk, 2)]


def test_failing_an_attempt_fails_what_waits_for_it_only_for_that_attempt(diamond):
    run = launch_flow(diamond)
    with changing(run.pk) as change:
        assert change.move("a", TaskState.RUNNING, expect=TaskState.QUEUED)
        fail_attempt(change, "a", 2, error="not this attempt")
    assert statuses(run)["a"] == R
    with changing(run.pk) as change:
        fail_attempt(change, "a", 1, error="boom")
    assert statuses(run) == {
        "a": TaskState.FAILED,
        "b": TaskState.UPSTREAM_FAILED,
        "c": TaskState.UPSTREAM_FAILED,
        "d": TaskState.UPSTREAM_FAILED,
    }
    assert task_run(run, "a").error == "boom"
