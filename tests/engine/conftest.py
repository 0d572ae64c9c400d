import pytest

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.engine.dispatch import local_queue
from flowforge_admin.engine.local import _execute

from .. import engine_tasks as t


def side_effects(marker_dir):
    path = marker_dir / "side_effects.txt"
    return path.read_text().splitlines() if path.exists() else []


def run_actions(action):
    """Do ``action`` and run in this process whatever it queued."""
    with local_queue() as queue:
        result = action()
        while (ready := queue.next_ready()) is not None:
            _execute(*ready)
    return result


def statuses(run):
    """{task name: status} of ``run``, refreshed with it."""
    run.refresh_from_db()
    return dict(run.task_runs.values_list("task_name", "status"))


@pytest.fixture
def marker_dir(tmp_path):
    return tmp_path


@pytest.fixture
def diamond(db):
    """a -> (b, c) -> d: b and c independent, d waits for both."""
    return register_task_pipeline(
        "diamond",
        {
            "a": {"function": t.work},
            "b": {"function": t.work, "depends_on": ["a"], "params": {"seconds": 0.05}},
            "c": {"function": t.work, "depends_on": ["a"]},
            "d": {"function": t.gather, "depends_on": ["b", "c"]},
        },
    )


@pytest.fixture
def nested(db):
    """start -> group(x -> y, z; own function gather) -> after; `after` waits for the whole group."""
    return register_task_pipeline(
        "nested",
        {
            "start": {"function": t.work},
            "group": {
                "function": t.gather,
                "depends_on": ["start"],
                "nested_tasks": {
                    "x": {"function": t.work},
                    "y": {"function": t.work, "depends_on": ["x"]},
                    "z": {"function": t.gather},
                },
            },
            "after": {"function": t.gather, "depends_on": ["group"]},
        },
    )


@pytest.fixture
def failing(db):
    """ok -> bad -> never; ok -> other (another branch keeps running)."""
    return register_task_pipeline(
        "failing",
        {
            "ok": {"function": t.work},
            "bad": {"function": t.fail, "depends_on": ["ok"]},
            "never": {"function": t.work, "depends_on": ["bad"]},
            "other": {"function": t.work, "depends_on": ["ok"], "params": {"seconds": 0.05}},
        },
    )
