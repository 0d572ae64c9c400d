"""clear_tasks: the named tasks, what waits for them and the groups around them run again as new attempts."""

import pytest
from django.core.exceptions import ValidationError

from flowforge_admin.api import cancel_run, clear_tasks, launch_flow, register_task_pipeline, run_flow
from flowforge_admin.engine.dispatch import local_queue
from flowforge_admin.engine.local import _execute
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import run_actions, side_effects, statuses
from .invariants import run_problems

pytestmark = pytest.mark.django_db


def attempts(run):
    """{task name: attempt} of ``run``, refreshed with it."""
    run.refresh_from_db()
    return dict(run.task_runs.values_list("task_name", "attempt"))


@pytest.fixture
def chain(db):
    """a -> b -> c; a -> d."""
    return register_task_pipeline(
        "clear_chain",
        {
            "a": {"function": t.work},
            "b": {"function": t.work, "depends_on": ["a"]},
            "c": {"function": t.work, "depends_on": ["b"]},
            "d": {"function": t.work, "depends_on": ["a"]},
        },
    )


@pytest.fixture
def groups(db):
    """outer (own function) { inner { x -> y }, z } -> after."""
    return register_task_pipeline(
        "clear_groups",
        {
            "outer": {
                "function": t.gather,
                "nested_tasks": {
                    "inner": {
                        "nested_tasks": {
                            "x": {"function": t.work},
                            "y": {"function": t.work, "depends_on": ["x"]},
                        }
                    },
                    "z": {"function": t.work},
                },
            },
            "after": {"function": t.work, "depends_on": ["outer"]},
        },
    )


def test_clear_runs_the_task_and_its_downstream_again_in_a_finished_run(chain, marker_dir):
    run = run_flow(chain, {"marker_dir": str(marker_dir)})
    assert run.status == RunState.SUCCEEDED
    run_actions(lambda: clear_tasks(run, ["b"]))
    assert set(statuses(run).values()) == {TaskState.SUCCEEDED}
    assert run.status == RunState.SUCCEEDED
    assert attempts(run) == {"a": 1, "b": 2, "c": 2, "d": 1}
    assert sorted(side_effects(marker_dir)) == ["a", "b", "b", "c", "c", "d"]
    assert run_problems(run) == []


def test_clear_without_downstream_runs_only_the_named_tasks(chain, marker_dir):
    run = run_flow(chain, {"marker_dir": str(marker_dir)})
    run_actions(lambda: clear_tasks(run, ["b", "d"], downstream=False))
    assert attempts(run) == {"a": 1, "b": 2, "c": 1, "d": 2}
    assert run.status == RunState.SUCCEEDED


def test_clear_in_nested_groups_reopens_the_groups_around_it(groups, marker_dir):
    """The groups containing x run again (outer's own function too), and so does what waits for outer."""
    run = run_flow(groups, {"marker_dir": str(marker_dir)})
    with local_queue() as queue:
        clear_tasks(run, ["x"])
        assert statuses(run) == {
            "outer": TaskState.RUNNING,
            "inner": TaskState.RUNNING,
            "x": TaskState.QUEUED,
            "y": TaskState.PENDING,
            "z": TaskState.SUCCEEDED,
            "after": TaskState.PENDING,
        }
        assert run.status == RunState.RUNNING
        assert run_problems(run) == []
        while (ready := queue.next_ready()) is not None:
            _execute(*ready)
    assert attempts(run) == {"outer": 2, "inner": 0, "x": 2, "y": 2, "z": 1, "after": 2}
    assert run.status == RunState.SUCCEEDED
    assert run_problems(run) == []


def test_clear_without_downstream_still_finishes_the_groups_around_it(groups, marker_dir):
    run = run_flow(groups, {"marker_dir": str(marker_dir)})
    run_actions(lambda: clear_tasks(run, ["x"], downstream=False))
    assert attempts(run) == {"outer": 2, "inner": 0, "x": 2, "y": 1, "z": 1, "after": 1}
    assert run.status == RunState.SUCCEEDED


def test_clearing_a_group_clears_its_tasks(groups, marker_dir):
    run = run_flow(groups, {"marker_dir": str(marker_dir)})
    run_actions(lambda: clear_tasks(run, ["inner"], downstream=False))
    assert attempts(run) == {"outer": 2, "inner": 0, "x": 2, "y": 2, "z": 1, "after": 1}
    assert run.status == RunState.SUCCEEDED


def test_clear_reopens_a_cancelled_run(chain, marker_dir):
    with local_queue():
        run = launch_flow(chain, {"marker_dir": str(marker_dir)})
        cancel_run(run)  # a's message is dropped with the queue
    assert set(statuses(run).values()) == {TaskState.CANCELLED}
    run_actions(lambda: clear_tasks(run, ["a"]))
    assert set(statuses(run).values()) == {TaskState.SUCCEEDED}
    assert run.status == RunState.SUCCEEDED
    assert run.finished_at is not None


def test_clear_in_a_running_run_discards_the_queued_attempt(chain, marker_dir):
    with local_queue() as queue:
        run = launch_flow(chain, {"marker_dir": str(marker_dir)})
        clear_tasks(run, ["a"])
        assert attempts(run)["a"] == 2
        while (ready := queue.next_ready()) is not None:
            _execute(*ready)  # attempt 1's message first: it does nothing
    assert statuses(run)["c"] == TaskState.SUCCEEDED
    assert run.status == RunState.SUCCEEDED
    assert side_effects(marker_dir).count("a") == 1


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["b", "nope", "zilch"], "run {pk} of flow 'clear_chain' has no task named 'nope', 'zilch'"),
        ([], "name at least one task of run {pk} to clear"),
        ("b", "clear_tasks takes a list of task names, not the string 'b'"),
        (None, "clear_tasks takes a list of task names, not None"),
        (["b", ["c"], {"d": 1}], "clear_tasks takes task names (strings), not ['c'], {{'d': 1}}"),
    ],
)
def test_clear_refuses_bad_names_and_changes_nothing(chain, marker_dir, names, message):
    run = run_flow(chain, {"marker_dir": str(marker_dir)})
    before = statuses(run), attempts(run), run.status
    with pytest.raises(ValidationError) as caught:
        clear_tasks(run, names)
    assert caught.value.messages == [message.format(pk=run.pk)]
    assert (statuses(run), attempts(run), run.status) == before
