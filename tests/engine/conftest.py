import pytest

from flowforge_admin.api import register_task_pipeline

from .. import engine_tasks as t


def side_effects(marker_dir):
    path = marker_dir / "side_effects.txt"
    return path.read_text().splitlines() if path.exists() else []


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
