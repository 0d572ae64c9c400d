"""Real Django-Q2 clusters (``manage.py qcluster``) in child processes, for integration tests.

They run on the test database (the SQLite file, or PostgreSQL when the suite
runs with ``DATABASE_URL``) and on the project's broker (the ORM broker, or
Redis when ``FLOWFORGE_REDIS_URL`` is set). ``FLOWFORGE_TEST_CLUSTERS=2``
starts two clusters, standing for two machines.
"""

import os
import re
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.db import connection
from django_q.brokers import get_broker

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


def child_database_url():
    """The URL of the database this test process uses, for processes it starts."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**env):
    """The environment of a child process of the project on the test database and broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": child_database_url(),
        **env,
    }


def cluster_count():
    return int(os.environ.get("FLOWFORGE_TEST_CLUSTERS", "1"))


def purge_queue():
    """Drop messages a previous test left in the broker's queue (the ORM's or Redis')."""
    get_broker().purge_queue()


class Cluster:
    """Starts, stops and kills one ``manage.py qcluster``."""

    def __init__(self, log_path, **env):
        self.log_path = log_path
        # ``env`` may override these (a longer heartbeat limit, say).
        defaults = {
            "FLOWFORGE_WORKERS": "2",
            "FLOWFORGE_HEARTBEAT_SECONDS": "1",
            "FLOWFORGE_LOST_AFTER_SECONDS": "4",
            "FLOWFORGE_REQUEUE_AFTER_SECONDS": "4",
        }
        self.env = process_env(**{**defaults, **env})
        self.process = None
        self.started_at = None

    def start(self):
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
        self.started_at = time.monotonic()

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """kill -9 the cluster and all its worker processes, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if not self.alive:
            return
        # The cluster's own process stops its workers in order.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def processed(self, q_task_name):
        """Whether this cluster's workers took the message named ``q_task_name``."""
        return re.search(rf"processing {re.escape(q_task_name)} ", self.log()) is not None


class Clusters:
    """One or more clusters on the same database and broker, as several machines would run them."""

    def __init__(self, directory, count):
        self.members = [Cluster(directory / f"qcluster-{i}.log") for i in range(count)]

    def start(self):
        for member in self.members:
            member.start()

    def stop(self):
        for member in self.members:
            member.stop()

    def running(self, q_task_name):
        """The cluster whose worker took the message ``q_task_name`` (waits for its log line)."""
        return wait_for(
            lambda: next((m for m in self.members if m.processed(q_task_name)), None),
            message=f"a cluster to log {q_task_name}",
        )

    def log(self):
        return "\n".join(f"--- {m.log_path.name}\n{m.log()}" for m in self.members)
