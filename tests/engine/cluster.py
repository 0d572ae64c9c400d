"""A real Django-Q2 cluster (``manage.py qcluster``) in a child process, for integration tests."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.db import connection

READY_TEXT = "running."


def wait_for(predicate, timeout=30.0, interval=0.05, message="condition"):
    """Return predicate()'s first true value, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


class Cluster:
    """Starts, stops and kills ``manage.py qcluster`` on the test database."""

    def __init__(self, log_path, **env):
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
            "FLOWFORGE_WORKERS": "2",
            "FLOWFORGE_HEARTBEAT_SECONDS": "1",
            "FLOWFORGE_LOST_AFTER_SECONDS": "4",
            **env,
        }
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "a")  # noqa: SIM115 -- the child process writes to it
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to kill it whole
        )
        log.close()
        wait_for(
            lambda: READY_TEXT in self.log_path.read_text()[offset:], timeout=60, message="qcluster to start"
        )

    def kill(self):
        """kill -9 the cluster and all its worker processes, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        # The cluster's own process stops its workers in order.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""
