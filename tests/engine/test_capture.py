"""The heartbeat thread: a running attempt's lines and heartbeat reach the database while it runs."""

import datetime
import logging
import threading

import pytest
from django.utils import timezone

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine.capture import Heartbeats, LogCapture
from flowforge_admin.models import TaskLog, TaskRun
from flowforge_admin.states import TaskState

from .. import engine_tasks as t


class SignallingCapture(LogCapture):
    """A capture that says when something wrote its lines (the heartbeat thread, here)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.written = threading.Event()

    def write(self):
        super().write()
        self.written.set()


@pytest.mark.django_db(transaction=True)
def test_lines_and_heartbeat_are_written_while_the_attempt_runs(settings):
    settings.FLOWFORGE_HEARTBEAT_SECONDS = 1
    run = launch_flow(register_task_pipeline("one", {"a": {"function": t.takes_only_n, "params": {"n": 1}}}))
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    task_run = TaskRun.objects.get(run=run, task_name="a")
    TaskRun.objects.filter(pk=task_run.pk).update(status=TaskState.RUNNING, heartbeat_at=long_ago)
    capture = SignallingCapture(task_run.pk, 1)
    watcher = Heartbeats()
    watcher.watch(capture)
    capture.add(logging.INFO, "test", "first line")
    assert capture.written.wait(timeout=10), "the heartbeat thread wrote nothing"
    watcher.unwatch(capture)
    assert list(TaskLog.objects.filter(task_run=task_run).values_list("message", flat=True)) == ["first line"]
    task_run.refresh_from_db()
    assert task_run.heartbeat_at > long_ago
    capture.add(logging.INFO, "test", "last line")
    capture.write()  # the worker's own last write, after unwatch
    messages = list(
        TaskLog.objects.filter(task_run=task_run).order_by("pk").values_list("message", flat=True)
    )
    assert messages == ["first line", "last line"]


def test_one_thread_serves_every_attempt_of_the_process():
    watcher = Heartbeats()
    first, second = LogCapture(1, 1), LogCapture(2, 1)
    watcher.watch(first)
    thread = watcher._thread
    watcher.unwatch(first)
    watcher.watch(second)
    assert watcher._thread is thread
    assert thread.is_alive()
    watcher.unwatch(second)
