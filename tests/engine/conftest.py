"""Fixtures and helpers of the engine tests: flows to run, running them in this process, the broker's messages."""

import pytest
from django.db.models import F
from django_q.models import OrmQ

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine.dispatch import WORKER_ENTRY, local_queue
from flowforge_admin.engine.local import _execute
from flowforge_admin.engine.worker import execute_task
from flowforge_admin.models import TaskRun

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


def outputs(run):
    """{task name: output} of ``run``."""
    return dict(run.task_runs.values_list("task_name", "output"))


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


def messages():
    """Return the (task run id, attempt) of every message waiting in the ORM broker."""
    found = []
    for message in OrmQ.objects.order_by("id"):
        assert message.task["func"] == WORKER_ENTRY
        task_run_id, attempt, run_id = message.task["args"]
        assert TaskRun.objects.get(pk=task_run_id).run_id == run_id
        found.append((task_run_id, attempt))
        assert message.task["group"] == str(run_id)
    return found


def task_run(run, name):
    """The TaskRun of task ``name`` in ``run``, read now."""
    return run.task_runs.get(task_name=name)


@pytest.fixture
def launched(diamond, marker_dir, django_capture_on_commit_callbacks):
    """A run of ``diamond``, launched and committed: ``a`` queued, its message in the ORM broker."""
    with django_capture_on_commit_callbacks(execute=True):
        return launch_flow(diamond, {"marker_dir": str(marker_dir)})


def deliver(django_capture_on_commit_callbacks, task_run_id, attempt, run_id=None):
    """Run one message's attempt here, as a worker would, and what it sends on commit."""
    with django_capture_on_commit_callbacks(execute=True):
        execute_task(task_run_id, attempt, run_id)


def make_stale(task_run_obj, **fields):
    """Set ``fields`` on the task run behind the engine's back (a dead worker, an old message)."""
    TaskRun.objects.filter(pk=task_run_obj.pk).update(**fields)


def fix_counts(run, old, new):
    """Keep the run's counters true after a hand-made status change."""
    type(run).objects.filter(pk=run.pk).update(
        **{f"{old}_count": F(f"{old}_count") - 1, f"{new}_count": F(f"{new}_count") + 1}
    )
