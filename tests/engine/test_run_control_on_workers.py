"""max_active_runs and pools on real workers (tests/test_scale_out.py runs this on PostgreSQL + Redis, two clusters).

Each task records when it started and ended (engine_tasks.work); with two
workers per cluster, tasks that nothing limits would overlap.
"""

import itertools

import pytest

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import Pool, TaskRun
from flowforge_admin.states import RunState

from .. import engine_tasks as t
from .test_cluster import finished

pytestmark = pytest.mark.django_db(transaction=True)


def spans(run, names):
    """(start, end) of each of ``names`` in ``run``, from their outputs."""
    outputs = dict(run.task_runs.filter(task_name__in=names).values_list("task_name", "output"))
    return [(outputs[name]["start"], outputs[name]["end"]) for name in names]


def overlapping(intervals):
    return [(a, b) for a, b in itertools.combinations(sorted(intervals), 2) if b[0] < a[1]]


def test_runs_of_a_flow_with_max_active_runs_1_go_one_after_the_other(cluster, marker_dir):
    flow = register_task_pipeline(
        "one_at_a_time",
        {
            "first": {"function": t.work, "params": {"seconds": 0.3}},
            "second": {"function": t.work, "depends_on": ["first"]},
        },
        max_active_runs=1,
    )
    runs = [launch_flow(flow, {"marker_dir": str(marker_dir)}) for _ in range(3)]
    assert [run.held for run in runs] == [False, True, True]

    runs = [finished(run) for run in runs]

    assert [run.status for run in runs] == [RunState.SUCCEEDED] * 3, cluster.log()
    whole_runs = [(spans(run, ["first"])[0][0], spans(run, ["second"])[0][1]) for run in runs]
    assert overlapping(whole_runs) == []
    assert whole_runs == sorted(whole_runs)  # in launch order


def test_a_pool_of_one_shared_by_two_flows_never_runs_two_of_its_tasks_at_once(cluster, marker_dir):
    Pool.objects.create(name="gpu", slots=1)
    pipeline = {
        "train_a": {"function": t.work, "params": {"seconds": 0.2}, "pool": "gpu"},
        "train_b": {"function": t.work, "params": {"seconds": 0.2}, "pool": "gpu"},
        "free": {"function": t.work, "params": {"seconds": 0.2}},
    }
    flows = [register_task_pipeline(name, pipeline) for name in ("vision", "speech")]
    runs = [launch_flow(flow, {"marker_dir": str(marker_dir)}) for flow in flows]
    runs = [finished(run) for run in runs]

    assert [run.status for run in runs] == [RunState.SUCCEEDED] * 2, cluster.log()
    gpu = [span for run in runs for span in spans(run, ["train_a", "train_b"])]
    assert overlapping(gpu) == []
    assert not TaskRun.objects.filter(pool_waiting_since__isnull=False).exists()
