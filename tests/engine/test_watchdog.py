"""engine/watchdog.py and engine/process.py in this process (no cluster): who claimed an attempt, and
handing on those of dead processes. tests/engine/test_watchdog_on_workers.py kills real workers."""

import logging
import os
import subprocess
import sys
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.signals import post_spawn

from flowforge_admin.api import launch_flow
from flowforge_admin.engine import process, watchdog
from flowforge_admin.engine.worker import claim
from flowforge_admin.models import TaskAttempt
from flowforge_admin.states import TaskState

from . import test_continuation as continuation_tests
from .conftest import deliver, make_stale, messages, side_effects, statuses, task_run

pytestmark = pytest.mark.django_db

linux_only = pytest.mark.skipif(not process.PROC, reason="start times come from /proc")


def dead_process():
    """The ``worker`` value of a process of this host that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process now
    return f"{process.host()}:{child.pid}:1"


@pytest.fixture
def claimed(launched):
    """Task ``a`` of a launched diamond, claimed by this process (running)."""
    a = task_run(launched, "a")
    assert claim(a.pk, 1, launched.pk) is not None
    a.refresh_from_db()
    return a


def test_a_claim_names_the_claiming_process(claimed):
    assert claimed.worker == process.this_process()
    assert process.on_this_host(claimed.worker)
    assert not process.gone(claimed.worker)


def test_a_dead_workers_running_attempt_is_handed_on(claimed, django_capture_on_commit_callbacks):
    dead = dead_process()
    make_stale(claimed, worker=dead)
    with django_capture_on_commit_callbacks(execute=True):
        assert watchdog.hand_on() == 1
        assert watchdog.hand_on() == 0  # once: it is queued now
    claimed.refresh_from_db()
    assert (claimed.status, claimed.attempt, claimed.lost_attempts) == (TaskState.QUEUED, 2, 1)
    pid = dead.split(":")[1]
    kept = TaskAttempt.objects.get(task_run=claimed, attempt=1)
    assert kept.error == f"attempt 1 lost its worker (its worker process {pid} died)"
    assert (claimed.pk, 2) in messages()


@linux_only
def test_a_pid_now_another_processes_counts_as_gone(claimed):
    # This process's pid, with another start time: the claimer ended and the pid was given again.
    make_stale(claimed, worker=f"{process.host()}:{os.getpid()}:0")
    assert watchdog.hand_on() == 1


def test_with_nothing_dead_nothing_is_handed_on_in_one_query(claimed):
    with CaptureQueriesContext(connection) as queries:
        assert watchdog.hand_on() == 0
    assert len(queries) == 1, [query["sql"] for query in queries]
    claimed.refresh_from_db()
    assert (claimed.status, claimed.attempt) == (TaskState.RUNNING, 1)


def test_another_hosts_attempt_is_left_alone(claimed):
    # A pid that names no process here: only its own host can tell whether it lives.
    make_stale(claimed, worker="another-host/1:" + dead_process().split(":", 1)[1])
    assert watchdog.orphaned() == []
    assert watchdog.hand_on() == 0
    claimed.refresh_from_db()
    assert claimed.status == TaskState.RUNNING


def test_a_dead_workers_attempt_that_is_not_running_any_more_is_left_alone(
    launched, django_capture_on_commit_callbacks
):
    a = task_run(launched, "a")
    deliver(django_capture_on_commit_callbacks, a.pk, 1, launched.pk)
    make_stale(a, worker=dead_process())  # it ran on a worker that ended since (recycled)
    queued = task_run(launched, "b")
    make_stale(queued, worker=dead_process())  # an earlier attempt's worker
    before = statuses(launched)
    assert watchdog.hand_on() == 0
    assert statuses(launched) == before


def test_a_running_task_no_worker_runs_names_none(nested, marker_dir, django_capture_on_commit_callbacks):
    """A group runs while its children do: no process holds it, and the watchdog never judges it."""
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(nested, {"marker_dir": str(marker_dir)})
    start = task_run(run, "start")
    deliver(django_capture_on_commit_callbacks, start.pk, 1, run.pk)
    group = task_run(run, "group")
    assert (group.status, group.worker) == (TaskState.RUNNING, None)


def test_a_continued_task_names_the_worker_that_continues_it(
    settings, marker_dir, django_capture_on_commit_callbacks, monkeypatch
):
    settings.FLOWFORGE_CONTINUATIONS_PER_MESSAGE = 20
    settings.FLOWFORGE_CONTINUATION_SECONDS = 60.0
    flow = continuation_tests.chain("w3", 3)
    run = continuation_tests.launched(flow, marker_dir, django_capture_on_commit_callbacks)
    second = task_run(run, "t1")
    continuation_tests.dies_before_continuing(run, monkeypatch, django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert (second.status, second.worker) == (TaskState.RUNNING, process.this_process())
    make_stale(second, worker=dead_process())  # the worker that continued it died
    with django_capture_on_commit_callbacks(execute=True):
        assert watchdog.hand_on() == 1
    assert messages() == [(second.pk, 2)]
    deliver(django_capture_on_commit_callbacks, second.pk, 2, run.pk)
    assert side_effects(marker_dir) == ["t0", "t1", "t2"]


def test_a_started_worker_looks_in_a_thread_unless_turned_off(settings, monkeypatch):
    looked = []
    monkeypatch.setattr(watchdog, "_watch", lambda: looked.append(threading.current_thread().name))
    settings.FLOWFORGE_WATCHDOG = False
    post_spawn.send(sender="django_q", proc_name="Process-1")
    settings.FLOWFORGE_WATCHDOG = True
    post_spawn.send(sender="django_q", proc_name="Process-2")
    for thread in threading.enumerate():
        if thread.name == "flowforge-watchdog":
            thread.join(timeout=10)
    assert looked == ["flowforge-watchdog"]


def test_a_failing_look_is_logged_and_never_raised(monkeypatch, caplog):
    def broken():
        raise RuntimeError("database away")

    monkeypatch.setattr(watchdog, "hand_on", broken)
    monkeypatch.setattr(watchdog.connection, "close", lambda: None)  # keep the test's connection
    with caplog.at_level(logging.ERROR, logger="flowforge_admin.engine"):
        watchdog._watch()
    assert "could not hand on" in caplog.text
    assert "database away" in caplog.text
