"""Capturing what a task logs, prints and measures, and keeping its heartbeat, while it runs.

Lines (and metrics and tags, ``context.log_metric``) are kept in memory and
written in batches (every second, and at the end) by a small thread that
also writes the heartbeat, so a long task's log and metrics are readable in
the admin before it ends. Only records of the thread running
the task are kept: two tasks never mix their lines.
"""

import contextlib
import datetime
import io
import logging
import sys
import threading
import time

from django.db import connections
from django.utils import timezone

from ..conf import get_setting
from ..models import Metric, Tag, TaskLog, TaskRun
from ..states import TaskState

FLUSH_SECONDS = 1.0
STDOUT, STDERR = logging.INFO, logging.WARNING


class LogCapture:
    """The log lines, metrics and tags of one attempt of one task run."""

    def __init__(self, task_run_id, attempt, run_id=None):
        self.task_run_id = task_run_id
        self.attempt = attempt
        self.run_id = run_id
        self.thread = threading.get_ident()
        self._lines = []
        self._metrics = []
        self._tags = {}
        self._lock = threading.Lock()

    def add(self, level, source, message, when=None):
        with self._lock:
            self._lines.append(
                TaskLog(
                    task_run_id=self.task_run_id,
                    attempt=self.attempt,
                    logged_at=when or timezone.now(),
                    level=level,
                    source=source[:100],
                    message=message,
                )
            )

    def add_metric(self, name, value, step):
        with self._lock:
            self._metrics.append(
                Metric(
                    run_id=self.run_id,
                    task_run_id=self.task_run_id,
                    attempt=self.attempt,
                    name=name,
                    value=value,
                    step=step,
                    logged_at=timezone.now(),
                )
            )

    def set_tag(self, key, value):
        with self._lock:
            self._tags[key] = value

    def write(self):
        """Store what was gathered since the last call (a query for each kind there is)."""
        with self._lock:
            lines, self._lines = self._lines, []
            metrics, self._metrics = self._metrics, []
            tags, self._tags = self._tags, {}
        if lines:
            TaskLog.objects.bulk_create(lines, batch_size=500)
        if metrics:
            Metric.objects.bulk_create(metrics, batch_size=500)
        if tags:
            # The last value set wins, across writes and attempts.
            Tag.objects.bulk_create(
                [
                    Tag(run_id=self.run_id, task_run_id=self.task_run_id, key=key, value=value)
                    for key, value in tags.items()
                ],
                update_conflicts=True,
                unique_fields=["task_run", "key"],
                update_fields=["value"],
            )

    @contextlib.contextmanager
    def active(self):
        """Capture logging records and stdout/stderr of this thread while the block runs."""
        handler = _Handler(self)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            with (
                contextlib.redirect_stdout(_Lines(self, STDOUT, "stdout")) as out,
                contextlib.redirect_stderr(_Lines(self, STDERR, "stderr")) as err,
            ):
                try:
                    yield self
                finally:
                    out.close()
                    err.close()
        finally:
            root.removeHandler(handler)


class _Handler(logging.Handler):
    def __init__(self, capture):
        super().__init__(level=logging.NOTSET)
        self.capture = capture
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        # Other threads' records and the engine's own bookkeeping are not the task's log.
        if record.thread != self.capture.thread or record.name.startswith("flowforge_admin.engine"):
            return
        try:
            message = self.format(record)
        except Exception:  # a bad format string in the task's logging must not fail it
            message = str(record.msg)
        when = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        self.capture.add(record.levelno, record.name, message, when)


class _Lines(io.TextIOBase):
    """A text stream that turns what is written into log lines."""

    def __init__(self, capture, level, source):
        self.capture, self.level, self.source = capture, level, source
        self._partial = ""

    def writable(self):
        return True

    def write(self, text):
        if threading.get_ident() != self.capture.thread:
            return (sys.__stdout__ if self.level == STDOUT else sys.__stderr__).write(text)
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.capture.add(self.level, self.source, line)
        return len(text)

    def close(self):
        if self._partial:
            self.capture.add(self.level, self.source, self._partial)
            self._partial = ""
        super().close()


class Heartbeats:
    """One thread per process writing the heartbeat and captured lines of the attempts running in it.

    Started with the first attempt and kept: a thread started and joined
    for every attempt cost about a quarter of a no-op task's time in the
    engine. Every second it writes what each watched attempt captured, and
    its heartbeat every ``FLOWFORGE_HEARTBEAT_SECONDS``.
    """

    def __init__(self):
        self._watched = {}  # LogCapture -> monotonic time of its last heartbeat
        self._lock = threading.Condition()  # guards _watched and the thread's start
        self._busy = threading.Lock()  # held by the thread while it writes
        self._thread = None

    def watch(self, capture):
        with self._lock:
            self._watched[capture] = time.monotonic()
            self._lock.notify()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="flowforge-heartbeats", daemon=True)
                self._thread.start()

    def unwatch(self, capture):
        """Stop watching ``capture``; once this returns, the thread writes nothing more of it."""
        with self._lock:
            self._watched.pop(capture, None)
        with self._busy:  # a write of its lines in progress ends first, so lines stay in order
            pass

    def _run(self):
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._watched)  # asleep while nothing runs
            time.sleep(FLUSH_SECONDS)
            with self._busy:
                with self._lock:
                    watched = list(self._watched.items())
                if watched:
                    self._write(watched)

    def _write(self, watched):
        interval = get_setting("FLOWFORGE_HEARTBEAT_SECONDS")
        try:
            for capture, last_beat in watched:
                capture.write()
                if time.monotonic() - last_beat >= interval:
                    TaskRun.objects.filter(
                        pk=capture.task_run_id, status=TaskState.RUNNING, attempt=capture.attempt
                    ).update(heartbeat_at=timezone.now())
                    with self._lock:
                        if capture in self._watched:
                            self._watched[capture] = time.monotonic()
        finally:
            # Only long tasks get here; no connection is kept between them (a
            # test database can be dropped once its tasks have ended).
            connections.close_all()


heartbeats = Heartbeats()
