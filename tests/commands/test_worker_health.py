"""`manage.py worker_health`: a worker pod's probe, 0 when a cluster on this host is alive, else 1."""

import socket
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django_q.conf import Conf

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.queues import default_queue

from .. import engine_tasks as t
from ..engine.cluster import process_env, wait_for

# The ORM broker opens a database connection (it runs no query).
pytestmark = pytest.mark.django_db
# Fixtures writing and clearing Django-Q2 cluster reports.
pytest_plugins = ["tests.cluster_reports"]

HOST = socket.gethostname()


def worker_health(*args):
    out = StringIO()
    call_command("worker_health", *args, stdout=out)
    return out.getvalue()


def test_without_a_cluster_it_exits_1_and_says_why(no_live_cluster):
    result = subprocess.run(
        [sys.executable, "manage.py", "worker_health"],
        cwd=settings.BASE_DIR,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        f"no Django-Q2 cluster on {HOST} reported in the last 60 s (no cluster has reported)" in result.stderr
    )


@pytest.mark.parametrize(
    ("report", "seen_as"),
    [
        ({"host": "another-pod"}, "on another-pod: Idle"),
        ({"age_seconds": 61}, f"on {HOST}: Idle, 61 s ago"),
        ({"status": Conf.STOPPED}, f"on {HOST}: Stopped"),
    ],
    ids=["other host", "stale", "stopped"],
)
def test_only_a_live_cluster_on_this_host_counts(report_cluster, report, seen_as):
    report_cluster("elsewhere", **report)
    with pytest.raises(CommandError) as raised:
        worker_health()
    assert raised.value.returncode == 1
    assert f"no Django-Q2 cluster on {HOST} reported in the last 60 s" in str(raised.value)
    assert f"elsewhere {seen_as}" in str(raised.value)


def test_a_fresh_report_from_this_host_passes(report_cluster):
    report_cluster("here", age_seconds=59)
    assert worker_health() == f"1 Django-Q2 cluster(s) alive on {HOST}: here (Idle)\n"


def test_queues_prints_each_queue_with_the_messages_waiting_in_it(report_cluster, settings):
    """The project's cluster, FLOWFORGE_QUEUES and the queues flows name; then the probe's verdict."""
    report_cluster("here")
    register_task_pipeline(
        "routed", {"train": {"function": t.echo, "queue": "gpu"}, "plain": {"function": t.echo}}
    )
    launch_flow("routed")  # the ORM broker's messages are written with the launch
    launch_flow("routed")
    settings.FLOWFORGE_QUEUES = ["io"]  # set after gpu's flow was registered: the flows' queues count too

    lines = worker_health("--queues").splitlines()

    assert sorted(lines[:-1]) == sorted(
        [f"queue {default_queue()}: 2 waiting", "queue gpu: 2 waiting", "queue io: 0 waiting"]
    )
    assert lines[-1] == f"1 Django-Q2 cluster(s) alive on {HOST}: here (Idle)"


@pytest.mark.django_db(transaction=True)
def test_a_real_cluster_on_this_host_passes(no_live_cluster, cluster):
    def passes():
        try:
            return worker_health()
        except CommandError:
            return None

    assert f"Django-Q2 cluster(s) alive on {HOST}" in wait_for(
        passes, timeout=15, message="the cluster's report"
    )
