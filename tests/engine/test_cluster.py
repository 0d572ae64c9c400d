"""Runs on real workers: `manage.py qcluster` processes on the test database and broker.

By default one cluster on the SQLite test database file and the ORM broker;
tests/test_scale_out.py runs this module again on PostgreSQL + Redis with two
clusters, standing for two machines.
"""

import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from flowforge_admin.api import cancel_run, launch_flow, register_task_pipeline, rerun_failed
from flowforge_admin.engine import dispatch
from flowforge_admin.engine.dispatch import WORKER_ENTRY
from flowforge_admin.models import FlowRun, FlowSchedule, Pool, TaskLog, TaskRun
from flowforge_admin.states import TASK_HOLDING_SLOTS, RunState, TaskState

from .. import engine_tasks as t
from .cluster import process_env, wait_for
from .conftest import outputs, side_effects, statuses

pytestmark = pytest.mark.django_db(transaction=True)


def finished(run, timeout=60):
    """Wait for ``run`` to finish; return it fresh from the database."""

    def done():
        run.refresh_from_db()
        return run.is_finished

    wait_for(done, timeout=timeout, message=f"run {run.pk} to finish")
    return run


def task_status(run, name):
    return run.task_runs.values_list("status", flat=True).get(task_name=name)


def test_diamond_runs_in_dependency_order(cluster, marker_dir):
    flow = register_task_pipeline(
        "diamond_on_workers",
        {
            "a": {"function": t.work},
            "b": {"function": t.work, "depends_on": ["a"], "params": {"seconds": 0.2}},
            "c": {"function": t.work, "depends_on": ["a"]},
            "d": {"function": t.work, "depends_on": ["b", "c"]},
        },
    )
    run = finished(launch_flow(flow, {"marker_dir": str(marker_dir)}))
    assert run.status == RunState.SUCCEEDED, cluster.log()
    order = side_effects(marker_dir)
    assert order[0] == "a"
    assert order[-1] == "d"
    assert sorted(order[1:3]) == ["b", "c"]
    out = outputs(run)
    assert out["d"]["start"] >= max(out["b"]["end"], out["c"]["end"])


def test_independent_tasks_run_in_parallel(cluster, marker_dir):
    flow = register_task_pipeline(
        "parallel",
        {
            "p1": {"function": t.work, "params": {"seconds": 1}},
            "p2": {"function": t.work, "params": {"seconds": 1}},
        },
    )
    run = finished(launch_flow(flow, {"marker_dir": str(marker_dir)}))
    p1, p2 = outputs(run)["p1"], outputs(run)["p2"]
    assert max(p1["start"], p2["start"]) < min(p1["end"], p2["end"]), "the two tasks did not overlap"


def test_failure_and_upstream_failed(cluster, failing, marker_dir):
    run = finished(launch_flow(failing, {"marker_dir": str(marker_dir)}))
    assert run.status == RunState.FAILED
    assert statuses(run) == {
        "ok": TaskState.SUCCEEDED,
        "bad": TaskState.FAILED,
        "never": TaskState.UPSTREAM_FAILED,
        "other": TaskState.SUCCEEDED,
    }
    assert run.task_runs.get(task_name="bad").error == "RuntimeError: boom"


def test_retry_then_success(cluster, marker_dir):
    flow = register_task_pipeline("retry_on_workers", {"flaky": {"function": t.fail_first, "retries": 1}})
    run = finished(launch_flow(flow, {"marker_dir": str(marker_dir)}))
    flaky = run.task_runs.get()
    assert (run.status, flaky.attempt, flaky.output) == (RunState.SUCCEEDED, 2, {"attempt": 2})
    assert side_effects(marker_dir) == ["flaky attempt 1", "flaky attempt 2"]


def test_timeout_is_recorded_and_the_worker_replaced(cluster, marker_dir):
    flow = register_task_pipeline(
        "timeout_on_workers",
        {
            "slow": {"function": t.work, "timeout": 1, "params": {"seconds": 10}},
            "other": {"function": t.work},
        },
    )
    run = finished(launch_flow(flow, {"marker_dir": str(marker_dir)}))
    slow = run.task_runs.get(task_name="slow")
    assert slow.status == TaskState.FAILED
    assert slow.error.startswith("timed out after 1 s"), slow.error
    assert side_effects(marker_dir) == ["other"]
    # Django-Q2 replaced the worker it killed: a new run still runs.
    again = finished(
        launch_flow(
            register_task_pipeline("after_timeout", {"x": {"function": t.work}}),
            {"marker_dir": str(marker_dir)},
        )
    )
    assert again.status == RunState.SUCCEEDED


def test_cancel_while_running(cluster, marker_dir):
    flow = register_task_pipeline(
        "cancel_on_workers",
        {
            "long": {"function": t.work, "params": {"seconds": 2}},
            "next": {"function": t.work, "depends_on": ["long"]},
        },
    )
    run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    wait_for(lambda: task_status(run, "long") == TaskState.RUNNING, message="the long task to start")
    cancel_run(run)
    assert run.status == RunState.CANCELLED
    # The running function ends on its own; its result is discarded and nothing follows.
    wait_for(lambda: "long" in side_effects(marker_dir), timeout=15, message="the long task to end")
    time.sleep(1)
    run.refresh_from_db()
    assert run.status == RunState.CANCELLED
    assert statuses(run) == {"long": TaskState.CANCELLED, "next": TaskState.CANCELLED}
    assert run.task_runs.get(task_name="long").output is None
    assert "next" not in side_effects(marker_dir)


def test_rerun_from_failure_keeps_succeeded_outputs(cluster, marker_dir):
    flow = register_task_pipeline(
        "rerun_on_workers",
        {"first": {"function": t.work}, "flaky": {"function": t.fail_first, "depends_on": ["first"]}},
    )
    run = finished(launch_flow(flow, {"marker_dir": str(marker_dir)}))
    assert run.status == RunState.FAILED
    first_output = outputs(run)["first"]
    run = finished(rerun_failed(run))
    assert run.status == RunState.SUCCEEDED
    assert outputs(run)["first"] == first_output
    assert side_effects(marker_dir) == ["first", "flaky attempt 1", "flaky attempt 2"]


def test_nested_group_semantics(cluster, nested, marker_dir):
    run = finished(launch_flow(nested, {"marker_dir": str(marker_dir)}))
    assert run.status == RunState.SUCCEEDED
    assert side_effects(marker_dir) == ["start", "x", "y"]
    out = outputs(run)
    assert out["group"]["upstream"] == ["start", "x", "y", "z"]
    assert out["after"]["upstream"] == ["group"]


def test_outputs_and_params_reach_the_functions(cluster):
    flow = register_task_pipeline(
        "params_on_workers",
        {
            "echo": {"function": t.echo, "params": {"task_default": 1}},
            "after": {"function": t.gather, "depends_on": ["echo"]},
        },
        params={"flow_default": "f"},
    )
    run = finished(launch_flow(flow, {"given": [1, 2]}))
    out = outputs(run)
    assert out["echo"]["kwargs"] == {"flow_default": "f", "task_default": 1, "given": [1, 2]}
    assert out["after"]["outputs"]["echo"] == out["echo"]


def test_logs_of_parallel_tasks_are_kept_apart_and_readable_while_running(cluster):
    flow = register_task_pipeline(
        "talkers",
        {
            "left": {"function": t.talk, "params": {"lines": 8, "seconds": 0.3}},
            "right": {"function": t.talk, "params": {"lines": 8, "seconds": 0.3}},
        },
    )
    run = launch_flow(flow)
    # Lines are written in batches while the tasks run, not only at the end.
    wait_for(
        lambda: (
            TaskLog.objects.filter(task_run__run=run).exists()
            and not FlowRun.objects.get(pk=run.pk).is_finished
        ),
        timeout=20,
        message="log lines of running tasks",
    )
    run = finished(run)
    for name in ("left", "right"):
        lines = list(
            TaskLog.objects.filter(task_run__run=run, task_run__task_name=name).values_list(
                "message", flat=True
            )
        )
        assert len(lines) == 17, lines
        assert all(line.startswith(name) for line in lines), lines


def test_a_duplicate_message_runs_once(cluster, marker_dir):
    flow = register_task_pipeline("duplicate", {"slow": {"function": t.work, "params": {"seconds": 0.5}}})
    run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    slow = run.task_runs.get()
    async_task(WORKER_ENTRY, slow.pk, 1)  # the broker delivers the same attempt again
    run = finished(run)
    time.sleep(1)
    assert side_effects(marker_dir) == ["slow"]
    assert run.status == RunState.SUCCEEDED


def test_kill_9_mid_task_loses_nothing(cluster, marker_dir):
    """The cluster running a task dies mid-task; the task comes back (and its pool slot), exactly once.

    With one cluster it is started again; with two, the survivor finishes the run
    (on Redis the killed cluster's prefetched messages are gone with it).
    """
    # long and last share a pool of one slot: the slot the killed attempt held must come
    # back (with its task run), or last would wait for ever.
    Pool.objects.create(name="one_slot", slots=1)
    flow = register_task_pipeline(
        "survivor",
        {
            "first": {"function": t.work},
            "long": {
                "function": t.work,
                "depends_on": ["first"],
                "params": {"seconds": 4},
                "pool": "one_slot",
            },
            "last": {"function": t.work, "depends_on": ["long"], "pool": "one_slot"},
        },
    )
    run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    wait_for(lambda: task_status(run, "long") == TaskState.RUNNING, message="the long task to start")
    long_pk, first_pk = (run.task_runs.get(task_name=name).pk for name in ("long", "first"))
    # long runs from its own message or, continued in the worker, from first's (engine/continuation.py):
    # either way its "processing" line is logged by now, before its claim.
    victim = wait_for(
        lambda: next(
            (m for pk in (long_pk, first_pk) for m in cluster.members if m.processed(f"flowforge-{pk}-1")),
            None,
        ),
        message="a cluster to log long's or first's message",
    )
    time.sleep(1)
    victim.kill()
    assert side_effects(marker_dir) == ["first"]
    if not any(member.alive for member in cluster.members):
        victim.start()
    # Started again on this machine, the cluster's new workers hand the attempt on as they start
    # (the watchdog); the survivor of two clusters leaves it to the lost-work check, which runs on
    # Django-Q2's scheduler (every 30 s) once the heartbeat is stale.
    run = finished(run, timeout=150)
    assert run.status == RunState.SUCCEEDED, cluster.log()
    assert sorted(side_effects(marker_dir)) == ["first", "last", "long"]
    long = run.task_runs.get(task_name="long")
    assert (long.attempt, long.lost_attempts) == (2, 1)
    assert not TaskRun.objects.filter(pool="one_slot", status__in=TASK_HOLDING_SLOTS).exists()


def test_every_task_runs_exactly_once_across_the_clusters(cluster, marker_dir):
    """A wide fan-out and fan-in: each task's side effect is written once, whoever ran it."""
    width = 40
    pipeline = {"root": {"function": t.work}}
    for i in range(width):
        pipeline[f"w{i}"] = {"function": t.work, "depends_on": ["root"], "params": {"seconds": 0.05}}
    pipeline["join"] = {"function": t.work, "depends_on": [f"w{i}" for i in range(width)]}
    run = finished(launch_flow(register_task_pipeline("wide", pipeline), {"marker_dir": str(marker_dir)}))
    assert run.status == RunState.SUCCEEDED, cluster.log()
    effects = side_effects(marker_dir)
    assert sorted(effects) == sorted(pipeline), "a task ran twice or never"
    assert (effects[0], effects[-1]) == ("root", "join")
    assert set(run.task_runs.values_list("attempt", flat=True)) == {1}
    if len(cluster.members) > 1:
        # Both machines took part, and still nothing ran twice.
        assert all("processing flowforge-" in member.log() for member in cluster.members), cluster.log()


def run_command(*args):
    """Run `manage.py run_flow` as a person would, on the test database."""
    return subprocess.run(
        [sys.executable, "manage.py", "run_flow", *args],
        cwd=settings.BASE_DIR,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_concurrent_launches_and_workers_never_meet_a_locked_database(cluster):
    """Four processes launch a 60-task flow at once while two workers run tasks.

    On SQLite this is the bundled backend's promise (writers take turns on the
    file instead of failing with "database is locked"); elsewhere it holds too.
    """
    pipeline = {"start": {"function": t.echo}}
    for i in range(58):
        pipeline[f"step_{i}"] = {"function": t.echo, "depends_on": ["start"]}
    pipeline["end"] = {"function": t.gather, "depends_on": [f"step_{i}" for i in range(58)]}
    flow = register_task_pipeline("sixty_tasks", pipeline)
    launches = [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_flow", "sixty_tasks"],
            cwd=settings.BASE_DIR,
            env=process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    answers = [launch.communicate(timeout=120) for launch in launches]
    assert [launch.returncode for launch in launches] == [0] * 4, answers
    runs = list(FlowRun.objects.filter(flow=flow))
    assert len(runs) == 4
    for run in runs:
        assert finished(run, timeout=180).status == RunState.SUCCEEDED, cluster.log()
        assert run.task_runs.filter(status=TaskState.SUCCEEDED).count() == 60
    assert "locked" not in cluster.log() + "".join(out + err for out, err in answers)


def test_run_flow_command_waits_and_exits_with_the_outcome(cluster, failing, marker_dir):
    register_task_pipeline("fine", {"only": {"function": t.work}})
    done = run_command("fine", "--param", f"marker_dir={marker_dir}", "--wait")
    assert done.returncode == 0, done.stderr
    assert "  only: succeeded" in done.stdout
    assert done.stdout.strip().endswith("succeeded")

    broken = run_command("failing", "--param", f"marker_dir={marker_dir}", "--wait")
    assert broken.returncode == 1, broken.stderr
    assert "  bad: failed" in broken.stdout
    assert "  never: upstream_failed" in broken.stdout
    assert "failed" in broken.stderr


def test_a_schedule_due_now_launches_one_run_that_finishes(cluster, marker_dir):
    """Django-Q2's scheduler, inside the real clusters (each looks every 30 s), fires the schedule once."""
    flow = register_task_pipeline(
        "scheduled_on_workers",
        {"a": {"function": t.work}, "b": {"function": t.work, "depends_on": ["a"]}},
    )
    schedule = FlowSchedule.objects.create(
        flow=flow, name="now", kind="minutes", every_minutes=60, params={"marker_dir": str(marker_dir)}
    )
    Schedule.objects.filter(pk=schedule.q_schedule_id).update(next_run=timezone.now())
    run = wait_for(
        lambda: FlowRun.objects.filter(schedule=schedule).first(), timeout=90, message="the schedule to fire"
    )
    run = finished(run)
    assert run.status == RunState.SUCCEEDED, cluster.log()
    assert run.triggered_by == "schedule"
    assert side_effects(marker_dir) == ["a", "b"]
    schedule.refresh_from_db()
    assert (schedule.last_outcome, schedule.last_run_id) == ("launched", run.pk)
    # Each cluster's scheduler ticks 30 s after the cluster started, then every 30 s:
    # by now every cluster has looked at the schedule since it became due; one run only.
    last_start = max(member.started_at for member in cluster.members)
    time.sleep(max(0.0, last_start + 32 - time.monotonic()))
    assert FlowRun.objects.filter(schedule=schedule).count() == 1


def test_enqueues_share_one_broker_connection_per_process():
    """A new Redis client per enqueue costs ~2.5 ms instead of ~0.3 ms: the engine keeps one per process."""
    flow = register_task_pipeline("fan_20", {f"t{i}": {"function": t.work} for i in range(20)})
    for _ in range(3):
        launch_flow(flow)  # 60 messages
    assert dispatch._broker() is dispatch._broker()
    connection = dispatch._broker().connection
    if isinstance(connection, redis.Redis):
        # One connection was ever made by this process's broker, and it was used for every message.
        assert sum(count for count, _ in connection.connection_pool.get_connection_count()) == 1
    assert dispatch._broker().queue_size() >= 60
