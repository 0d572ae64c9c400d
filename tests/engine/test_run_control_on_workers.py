"""max_active_runs, pools and backfills on real workers (tests/test_scale_out.py runs this on PostgreSQL + Redis, two clusters).

Each task records when it started and ended (engine_tasks.work); with two
workers per cluster, tasks that nothing limits would overlap.
"""

import datetime
import itertools
from io import StringIO

import pytest
from django.core.management import call_command

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import FlowRun, FlowSchedule, Pool, TaskRun
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


def test_a_backfill_over_ten_fires_runs_each_fire_with_at_most_two_runs_active(cluster, marker_dir):
    flow = register_task_pipeline(
        "backfilled",
        {"load": {"function": t.work, "params": {"seconds": 0.2}}},
        max_active_runs=2,
        params={"marker_dir": str(marker_dir)},
    )
    schedule = FlowSchedule.objects.create(
        flow=flow, name="nightly", kind=FlowSchedule.Kind.DAILY, at_time=datetime.time(2, 0)
    )
    first = datetime.datetime(2026, 1, 1, 2, tzinfo=datetime.UTC)
    call_command(
        "backfill",
        schedule.pk,
        "--start",
        first.isoformat(),
        "--end",
        "2026-01-10T02:00:00Z",
        stdout=StringIO(),
    )

    runs = list(FlowRun.objects.filter(schedule=schedule).order_by("created_at", "id"))
    assert [run.logical_date for run in runs] == [first + datetime.timedelta(days=day) for day in range(10)]
    assert [run.held for run in runs] == [False, False] + [True] * 8
    runs = [finished(run) for run in runs]

    assert [run.status for run in runs] == [RunState.SUCCEEDED] * 10, cluster.log()
    assert most_at_once([span for run in runs for span in spans(run, ["load"])]) <= 2


def most_at_once(intervals):
    """The most of ``intervals`` (start, end) that overlap at any moment (an end before a start at a tie)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = most = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most
