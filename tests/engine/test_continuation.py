"""Continuing in the worker (engine/continuation.py): one message runs the task it made ready, within its bounds.

In this process first, one message delivered by hand at a time (the tests of
conftest turn continuations off elsewhere; here they are on); then on real
clusters, whose workers continue with the project's settings.
"""

import datetime
import re
import signal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from flowforge_admin.api import cancel_run, launch_flow, register_task_pipeline
from flowforge_admin.engine import continuation, worker
from flowforge_admin.engine.recovery import check_lost_work
from flowforge_admin.models import FlowRun, Pool, TaskLog
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .cluster import Cluster, purge_queue, wait_for
from .conftest import deliver, make_stale, messages, side_effects, statuses, task_run


@pytest.fixture
def continuing(settings, monkeypatch):
    settings.FLOWFORGE_CONTINUATIONS_PER_MESSAGE = 20
    settings.FLOWFORGE_CONTINUATION_SECONDS = 60.0  # generous: a slow test machine must not end a chain early
    # Messages are delivered here by hand, at once: no other worker could have taken a queued task.
    monkeypatch.setattr(continuation, "TAKE_AFTER_SECONDS", 0.0)
    return settings


def chain(name, length, prefix="t", **options):
    """A chain prefix0 -> prefix1 -> ... of ``work`` tasks; ``options`` apply to every task but the first."""
    tasks = {f"{prefix}0": {"function": t.work}}
    for i in range(1, length):
        tasks[f"{prefix}{i}"] = {"function": t.work, "depends_on": [f"{prefix}{i - 1}"], **options}
    return register_task_pipeline(name, tasks)


def launched(flow, marker_dir, capture):
    """Launch ``flow``; its first messages are taken off the broker (delivered by hand below)."""
    with capture(execute=True):
        run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    OrmQ.objects.all().delete()
    return run


@pytest.mark.django_db
def test_a_message_runs_the_tasks_its_success_made_ready(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    run = launched(chain("c3", 3), marker_dir, django_capture_on_commit_callbacks)
    first = task_run(run, "t0")
    deliver(django_capture_on_commit_callbacks, first.pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0", "t1", "t2"]
    run.refresh_from_db()
    assert run.status == RunState.SUCCEEDED
    assert messages() == [], "a continued task needs no message"
    # Each continued task run is an ordinary attempt: started, finished, its output kept.
    for name in ("t1", "t2"):
        continued = task_run(run, name)
        assert (continued.attempt, continued.output["task"]) == (1, name)
        assert continued.started_at
        assert continued.finished_at
        assert continued.heartbeat_at


@pytest.mark.django_db
def test_only_one_ready_task_is_continued_and_the_others_are_queued(
    continuing, diamond, marker_dir, django_capture_on_commit_callbacks
):
    continuing.FLOWFORGE_CONTINUATIONS_PER_MESSAGE = 1  # b, then no more: c is left to its message
    run = launched(diamond, marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "a").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["a", "b"]
    assert messages() == [(task_run(run, "c").pk, 1)]
    assert statuses(run) == {"a": "succeeded", "b": "succeeded", "c": "queued", "d": "pending"}


@pytest.mark.django_db
def test_a_queued_task_no_worker_took_is_taken_along_and_its_message_then_writes_nothing(
    continuing, diamond, marker_dir, django_capture_on_commit_callbacks
):
    run = launched(diamond, marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "a").pk, 1, run.pk)
    # a made b and c ready; b was continued, and b's worker then took c (still queued) along.
    assert side_effects(marker_dir) == ["a", "b", "c"]
    assert statuses(run) == dict.fromkeys("abcd", "succeeded")
    c = task_run(run, "c")
    assert (c.attempt, c.output["task"]) == (1, "c")
    assert c.started_at
    assert c.finished_at
    assert c.heartbeat_at
    run.refresh_from_db()
    assert (run.queued_count, run.running_count, run.succeeded_count) == (0, 0, 4)
    # c's message is still on its way; when it comes, one read finds it taken.
    assert messages() == [(c.pk, 1)]
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, c.pk, 1, run.pk)
    assert [query["sql"].split()[0] for query in captured] == ["SELECT"]
    assert side_effects(marker_dir) == ["a", "b", "c"]


@pytest.mark.django_db
@pytest.mark.parametrize(("waited", "taken"), [(False, []), (True, ["t3", "t2", "t1"])])
def test_only_a_task_that_waited_in_the_queue_is_taken_along(
    continuing, monkeypatch, waited, taken, marker_dir, django_capture_on_commit_callbacks
):
    """One queued just now has a message on its way to a worker that may be free: it is left to it."""
    monkeypatch.setattr(continuation, "TAKE_AFTER_SECONDS", 60.0)
    run = launched(fan("fan4", 4), marker_dir, django_capture_on_commit_callbacks)
    if waited:
        run.task_runs.update(queued_at=timezone.now() - datetime.timedelta(minutes=2))
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0", *taken]
    left = {f"t{i}" for i in range(1, 4)} - set(taken)
    assert {name for name, status in statuses(run).items() if status == "queued"} == left


@pytest.mark.django_db
def test_queued_tasks_that_may_not_run_here_are_not_taken_along(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    """Another queue's task, and a task whose timeout would pass the message's time, wait for their messages."""
    flow = register_task_pipeline(
        "fan_kinds",
        {
            "first": {"function": t.work},
            "routed": {"function": t.work, "queue": "elsewhere"},
            "long": {"function": t.work, "timeout": 600},
        },
    )
    run = launched(flow, marker_dir, django_capture_on_commit_callbacks)
    previous = signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_REAL, 300)  # the message's time, as Django-Q2 sets it: 600 s does not fit
    try:
        deliver(django_capture_on_commit_callbacks, task_run(run, "first").pk, 1, run.pk)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert side_effects(marker_dir) == ["first"]
    assert statuses(run) == {"first": "succeeded", "routed": "queued", "long": "queued"}


@pytest.mark.django_db
def test_taking_queued_tasks_along_is_bounded_per_message(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    continuing.FLOWFORGE_CONTINUATIONS_PER_MESSAGE = 3
    flow = register_task_pipeline("fan6", {f"t{i}": {"function": t.work} for i in range(6)})
    run = launched(flow, marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    # t0's message, then three taken along, newest first (the broker hands out the oldest first).
    assert side_effects(marker_dir) == ["t0", "t5", "t4", "t3"]
    assert statuses(run) == {
        **dict.fromkeys(["t0", "t3", "t4", "t5"], "succeeded"),
        **dict.fromkeys(["t1", "t2"], "queued"),
    }


@pytest.mark.django_db
def test_a_continued_task_logs_its_own_attempt(continuing, marker_dir, django_capture_on_commit_callbacks):
    flow = register_task_pipeline(
        "talking",
        {"first": {"function": t.work}, "second": {"function": t.talk, "depends_on": ["first"]}},
    )
    run = launched(flow, marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "first").pk, 1, run.pk)
    second = task_run(run, "second")
    assert second.status == TaskState.SUCCEEDED
    lines = list(TaskLog.objects.filter(task_run=second).values_list("attempt", "message"))
    assert (1, "second print line 0") in lines
    assert not TaskLog.objects.filter(task_run=task_run(run, "first"), message__contains="second").exists()


def cancel_own_run(context, marker_dir):
    """A task during which an operator cancels its run."""
    cancel_run(FlowRun.objects.get(pk=context.run_id))
    return t.work(context, marker_dir)


@pytest.mark.django_db
def test_a_task_made_ready_while_its_run_is_cancelled_does_not_run(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    flow = register_task_pipeline(
        "cancelled_during_first",
        {"t0": {"function": cancel_own_run}, "t1": {"function": t.work, "depends_on": ["t0"]}},
    )
    run = launched(flow, marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0"]  # t0's function ended; its result was discarded
    assert statuses(run) == {"t0": "cancelled", "t1": "cancelled"}
    assert run.status == RunState.CANCELLED
    assert messages() == []


@pytest.mark.django_db
def test_a_continued_task_cancelled_meanwhile_keeps_nothing_and_nothing_after_it_runs(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    """Cancelled once its upstream's commit started it: as any running task, marked and its result discarded."""
    flow = register_task_pipeline(
        "cancelled_during_second",
        {
            "t0": {"function": t.work},
            "t1": {"function": cancel_own_run, "depends_on": ["t0"]},
            "t2": {"function": t.work, "depends_on": ["t1"]},
        },
    )
    run = launched(flow, marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0", "t1"]
    assert statuses(run) == {"t0": "succeeded", "t1": "cancelled", "t2": "cancelled"}
    assert task_run(run, "t1").output is None
    assert run.status == RunState.CANCELLED


@pytest.mark.django_db
def test_a_redelivered_message_for_a_continued_task_does_nothing(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    run = launched(chain("c3", 3), marker_dir, django_capture_on_commit_callbacks)
    first, second = task_run(run, "t0"), task_run(run, "t1")
    deliver(django_capture_on_commit_callbacks, first.pk, 1, run.pk)
    before = statuses(run)
    deliver(
        django_capture_on_commit_callbacks, second.pk, 1, run.pk
    )  # a message for t1, as a resend would be
    deliver(django_capture_on_commit_callbacks, first.pk, 1, run.pk)  # the message itself, delivered again
    assert side_effects(marker_dir) == ["t0", "t1", "t2"]
    assert statuses(run) == before
    assert messages() == []


def dies_before_continuing(run, monkeypatch, django_capture_on_commit_callbacks):
    """Deliver t0's message to a worker that dies after the commit that continued with t1, before t1 ran."""
    first, second = task_run(run, "t0"), task_run(run, "t1")
    real_run_attempt = worker.run_attempt

    def dies(task_run_id, attempt, claimed, message=None):
        if task_run_id == second.pk:
            raise SystemExit("worker killed after the commit that started t1, before t1 ran")
        return real_run_attempt(task_run_id, attempt, claimed, message)

    monkeypatch.setattr(worker, "run_attempt", dies)
    with pytest.raises(SystemExit):
        deliver(django_capture_on_commit_callbacks, first.pk, 1, run.pk)
    monkeypatch.undo()


@pytest.mark.django_db
def test_a_continued_task_whose_worker_died_gets_a_new_attempt_from_the_lost_work_check(
    continuing, marker_dir, django_capture_on_commit_callbacks, monkeypatch
):
    run = launched(chain("c3", 3), marker_dir, django_capture_on_commit_callbacks)
    second = task_run(run, "t1")
    dies_before_continuing(run, monkeypatch, django_capture_on_commit_callbacks)
    assert statuses(run)["t1"] == TaskState.RUNNING
    assert messages() == []
    make_stale(second, heartbeat_at=timezone.now() - datetime.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert check_lost_work() == 1
    assert messages() == [(second.pk, 2)]
    deliver(django_capture_on_commit_callbacks, second.pk, 2, run.pk)
    assert side_effects(marker_dir) == ["t0", "t1", "t2"]
    assert statuses(run) == {"t0": "succeeded", "t1": "succeeded", "t2": "succeeded"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("timeout", "left", "continued"),
    [
        (60, 30, False),  # its own timeout would pass the message's time: queued
        (None, 30, False),  # no timeout of its own: the cluster's (1800 s here) would pass it too
        (10, 30, True),  # it fits, with its margin
    ],
)
def test_a_continuation_that_would_pass_the_messages_time_is_queued_instead(
    continuing, marker_dir, django_capture_on_commit_callbacks, timeout, left, continued
):
    run = launched(chain("c2", 2, timeout=timeout), marker_dir, django_capture_on_commit_callbacks)
    first, second = task_run(run, "t0"), task_run(run, "t1")

    def message_timed_out(signum, frame):
        raise AssertionError("the test's stand-in for Django-Q2's alarm went off")

    # What Django-Q2 does around a message: an alarm at the end of its time.
    previous = signal.signal(signal.SIGALRM, message_timed_out)
    signal.setitimer(signal.ITIMER_REAL, left)
    try:
        deliver(django_capture_on_commit_callbacks, first.pk, 1, run.pk)
        still_left, _ = signal.getitimer(signal.ITIMER_REAL)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # The message's alarm is still set after a continued task's own one (and never moved later).
    assert 0 < still_left <= left
    if continued:
        assert side_effects(marker_dir) == ["t0", "t1"]
        assert messages() == []
    else:
        assert side_effects(marker_dir) == ["t0"]
        assert messages() == [(second.pk, 1)]


@pytest.mark.django_db
def test_continuations_per_message_are_bounded_and_the_rest_is_queued(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    continuing.FLOWFORGE_CONTINUATIONS_PER_MESSAGE = 2
    run = launched(chain("c5", 5), marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0", "t1", "t2"]
    assert messages() == [(task_run(run, "t3").pk, 1)]


@pytest.mark.django_db
def test_no_continuation_once_the_messages_time_for_them_is_spent(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    continuing.FLOWFORGE_CONTINUATION_SECONDS = 0.0
    run = launched(chain("c3", 3), marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0"]
    assert messages() == [(task_run(run, "t1").pk, 1)]


@pytest.mark.django_db
def test_a_task_of_another_queue_is_sent_to_it(continuing, marker_dir, django_capture_on_commit_callbacks):
    run = launched(chain("routed", 2, queue="elsewhere"), marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0"]
    assert statuses(run)["t1"] == TaskState.QUEUED
    assert messages() == [(task_run(run, "t1").pk, 1)]


@pytest.mark.django_db
def test_a_task_whose_pool_is_full_is_not_continued(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    Pool.objects.create(name="closed", slots=0)
    run = launched(chain("pooled", 2, pool="closed"), marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0"]
    assert statuses(run)["t1"] == TaskState.PENDING  # waiting for a slot, holding no worker
    assert messages() == []


@pytest.mark.django_db
def test_a_groups_own_function_and_a_sensor_are_sent_not_continued(
    continuing, marker_dir, django_capture_on_commit_callbacks
):
    flow = register_task_pipeline(
        "kinds",
        {
            "group": {"function": t.gather, "nested_tasks": {"inner": {"function": t.work}}},
            "sensor": {
                "function": t.work,
                "depends_on": ["group"],
                "sensor": {"interval": 60, "timeout": 600},
            },
        },
    )
    run = launched(flow, marker_dir, django_capture_on_commit_callbacks)
    deliver(django_capture_on_commit_callbacks, task_run(run, "inner").pk, 1, run.pk)
    assert messages() == [(task_run(run, "group").pk, 1)]
    deliver(django_capture_on_commit_callbacks, task_run(run, "group").pk, 1, run.pk)
    assert messages() == [(task_run(run, "group").pk, 1), (task_run(run, "sensor").pk, 1)]


# Bundles: quick tasks taken along several at once, their successes recorded together.


def fan(name, count, **tasks):
    """t0 .. t{count-1}, independent ``work`` tasks; ``tasks`` replaces some of them."""
    return register_task_pipeline(name, {f"t{i}": {"function": t.work} for i in range(count)} | tasks)


def run_locks(captured):
    """The statements that lock a run (a claim's, a change's), in order: one per write transaction of a run."""
    return [
        query["sql"]
        for query in captured
        if query["sql"].startswith('UPDATE "flowforge_admin_flowrun"') and "RETURNING" in query["sql"]
    ]


@pytest.fixture
def quick(monkeypatch):
    """Every task counts as quick, however loaded the machine: bundles form."""
    monkeypatch.setattr(continuation, "QUICK_SECONDS", 60.0)


@pytest.mark.django_db
def test_quick_queued_tasks_are_taken_along_in_a_bundle_and_recorded_together(
    continuing, quick, marker_dir, django_capture_on_commit_callbacks
):
    run = launched(fan("fan6", 6), marker_dir, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0", "t5", "t4", "t3", "t2", "t1"]
    assert statuses(run) == dict.fromkeys([f"t{i}" for i in range(6)], "succeeded")
    # t0's claim; t0's success with the five others taken along; their five successes.
    assert len(run_locks(captured)) == 3
    run.refresh_from_db()
    assert (run.status, run.queued_count, run.running_count, run.succeeded_count) == ("succeeded", 0, 0, 6)
    for i in range(1, 6):
        taken = task_run(run, f"t{i}")
        assert (taken.attempt, taken.output["task"]) == (1, f"t{i}")
        assert taken.started_at <= taken.finished_at


@pytest.mark.django_db
def test_a_slow_task_takes_along_one_task_at_a_time(
    continuing, monkeypatch, marker_dir, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(continuation, "QUICK_SECONDS", 0.0)  # no task is quick
    run = launched(fan("fan4", 4), marker_dir, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as captured:
        deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0", "t3", "t2", "t1"]
    # t0's claim, then each success with the next task taken along, and the last one's.
    assert len(run_locks(captured)) == 5


@pytest.mark.django_db
def test_a_bundles_task_that_waited_too_long_is_handed_back_to_the_queue(
    continuing, quick, marker_dir, django_capture_on_commit_callbacks
):
    continuing.FLOWFORGE_CONTINUATION_SECONDS = 1.0
    run = launched(
        fan("fan5", 5, t4={"function": t.work, "params": {"seconds": 1.2}}),
        marker_dir,
        django_capture_on_commit_callbacks,
    )
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    # t4, first of the bundle, ran past the second: t3, t2 and t1 go back to the queue, with messages.
    assert side_effects(marker_dir) == ["t0", "t4"]
    assert statuses(run) == {
        "t0": "succeeded",
        "t4": "succeeded",
        **dict.fromkeys(["t1", "t2", "t3"], "queued"),
    }
    handed_back = [task_run(run, name) for name in ("t3", "t2", "t1")]
    assert messages() == [(each.pk, 1) for each in handed_back]
    assert all(each.worker is None for each in handed_back)
    run.refresh_from_db()
    assert (run.queued_count, run.running_count, run.succeeded_count) == (3, 0, 2)
    for each in handed_back:
        deliver(django_capture_on_commit_callbacks, each.pk, 1, run.pk)
    assert sorted(side_effects(marker_dir)) == ["t0", "t1", "t2", "t3", "t4"]
    assert statuses(run) == dict.fromkeys([f"t{i}" for i in range(5)], "succeeded")


@pytest.mark.django_db
def test_a_continued_task_cancelled_before_it_starts_does_not_run(
    continuing, monkeypatch, marker_dir, django_capture_on_commit_callbacks
):
    """Cancelled after the commit that started it for this worker, before it ran."""
    monkeypatch.setattr(continuation, "RECHECK_SECONDS", 0.0)  # as if it had waited: it is looked at again
    run = launched(chain("c3", 3), marker_dir, django_capture_on_commit_callbacks)
    real_take = continuation.Message.take

    def take_then_cancel(message):
        kept = real_take(message)
        if kept is not None and kept.name == "t1":
            cancel_run(FlowRun.objects.get(pk=run.pk))
        return kept

    monkeypatch.setattr(continuation.Message, "take", take_then_cancel)
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0"]
    assert statuses(run) == {"t0": "succeeded", "t1": "cancelled", "t2": "cancelled"}
    assert run.status == RunState.CANCELLED


@pytest.mark.django_db
def test_the_rest_of_a_bundle_cancelled_meanwhile_does_not_run(
    continuing, quick, monkeypatch, marker_dir, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(continuation, "RECHECK_SECONDS", 0.0)
    run = launched(
        fan("fan5", 5, t4={"function": cancel_own_run}), marker_dir, django_capture_on_commit_callbacks
    )
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    assert side_effects(marker_dir) == ["t0", "t4"]  # t4's function ended; its result was discarded
    assert statuses(run) == {"t0": "succeeded", **dict.fromkeys(["t1", "t2", "t3", "t4"], "cancelled")}
    assert run.status == RunState.CANCELLED


@pytest.mark.django_db
@pytest.mark.parametrize("failing", ["t3", "t1"])  # in the middle of the bundle, and its last
def test_a_failure_in_a_bundle_is_recorded_and_so_are_the_others_successes(
    continuing, quick, failing, marker_dir, django_capture_on_commit_callbacks
):
    run = launched(
        fan("fan5", 5, **{failing: {"function": t.fail}}), marker_dir, django_capture_on_commit_callbacks
    )
    deliver(django_capture_on_commit_callbacks, task_run(run, "t0").pk, 1, run.pk)
    expected = dict.fromkeys([f"t{i}" for i in range(5)], "succeeded") | {failing: "failed"}
    assert statuses(run) == expected
    run.refresh_from_db()
    assert (run.status, run.running_count, run.succeeded_count, run.failed_count) == ("failed", 0, 4, 1)
    assert "boom" in task_run(run, failing).error


# On real clusters (their own processes, the project's settings: continuations on).


def finished(run, timeout=60):
    def done():
        run.refresh_from_db()
        return run.is_finished

    wait_for(done, timeout=timeout, message=f"run {run.pk} to finish")
    return run


def processed(log, task_run_obj):
    return re.search(rf"processing flowforge-{task_run_obj.pk}-1 ", log) is not None


@pytest.mark.django_db(transaction=True)
def test_a_chain_runs_on_from_its_first_message(cluster, marker_dir):
    run = finished(launch_flow(chain("chain_on_workers", 6), {"marker_dir": str(marker_dir)}))
    assert run.status == RunState.SUCCEEDED, cluster.log()
    assert side_effects(marker_dir) == [f"t{i}" for i in range(6)]
    log = cluster.log()
    assert processed(log, task_run(run, "t0")), log
    assert not any(processed(log, task_run(run, f"t{i}")) for i in range(1, 6)), log


@pytest.mark.django_db(transaction=True)
def test_a_continued_task_that_runs_past_its_timeout_is_timed_out(cluster, marker_dir):
    flow = register_task_pipeline(
        "continued_timeout",
        {
            "first": {"function": t.work},
            "slow": {"function": t.work, "depends_on": ["first"], "timeout": 1, "params": {"seconds": 10}},
        },
    )
    run = finished(launch_flow(flow, {"marker_dir": str(marker_dir)}))
    slow = task_run(run, "slow")
    assert slow.status == TaskState.FAILED
    assert slow.error.startswith("timed out after 1 s"), slow.error
    assert side_effects(marker_dir) == ["first"]
    assert not processed(cluster.log(), slow), "slow was to run as a continuation of first's message"


@pytest.mark.django_db(transaction=True)
def test_two_runs_on_one_worker_both_progress(transactional_db, tmp_path, marker_dir):
    """Two chains on a single worker, at most two continuations a message: they take turns."""
    purge_queue()
    one_worker = Cluster(tmp_path / "qcluster.log", FLOWFORGE_CONTINUATIONS_PER_MESSAGE="2")
    one_worker.env["FLOWFORGE_WORKERS"] = "1"
    first, second = chain("fair_a", 6, prefix="a"), chain("fair_b", 6, prefix="b")
    one_worker.start()
    try:
        # One commit: both first messages are in the queue before the worker takes either.
        with transaction.atomic():
            runs = [launch_flow(flow, {"marker_dir": str(marker_dir)}) for flow in (first, second)]
        for run in runs:
            assert finished(run).status == RunState.SUCCEEDED, one_worker.log()
    finally:
        one_worker.stop()
    order = side_effects(marker_dir)
    assert sorted(order) == sorted([f"a{i}" for i in range(6)] + [f"b{i}" for i in range(6)])
    # Neither chain ran to its end before the other began.
    assert order.index("b0") < order.index("a5"), order
    assert order.index("a0") < order.index("b5"), order


@pytest.mark.django_db(transaction=True)
def test_a_fan_out_on_two_workers_runs_each_task_once(cluster, marker_dir):
    """Taken along, in bundles while quick, by both workers at once: every task once, the counters true."""
    count = 120
    run = finished(launch_flow(fan("fan_on_workers", count), {"marker_dir": str(marker_dir)}))
    assert run.status == RunState.SUCCEEDED, cluster.log()
    effects = side_effects(marker_dir)
    assert sorted(effects) == sorted(f"t{i}" for i in range(count)), "each task ran exactly once"
    assert (run.succeeded_count, run.running_count, run.queued_count) == (count, 0, 0)
    assert set(run.task_runs.values_list("attempt", flat=True)) == {1}
    # The messages of the tasks taken along still come, and are dropped (one read each).
    wait_for(lambda: not OrmQ.objects.exists(), timeout=60, message="the queue to drain")
    log = cluster.log()
    assert all(processed(log, each) for each in run.task_runs.all()), log
    assert "not queued any more, message ignored" in log, log
