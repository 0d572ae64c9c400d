"""Django-Q2 cluster reports (``Stat``s) written by the test itself, for health checks and metrics.

A real cluster (the ``cluster`` fixture) proves that reports travel between
processes; these stand for clusters in states a test cannot easily bring a
real one to: stale, stopped, on another host.
"""

import datetime
import socket

import pytest
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from flowforge_admin.health import alive_clusters, cluster_stats

from .engine.cluster import wait_for


def forget_report(broker, key):
    # The ORM broker keeps reports in Django's cache, the Redis broker in Redis itself.
    if type(broker).set_stat is Broker.set_stat:
        broker.cache.delete(key)
    else:
        broker.connection.delete(key)


@pytest.fixture
def no_live_cluster():
    """Wait until no cluster counts as alive (a cluster an earlier test killed leaves a report for 3 s)."""
    wait_for(
        lambda: not alive_clusters(cluster_stats()),
        timeout=15,
        message="no live cluster: is a qcluster (make run?) using this FLOWFORGE_VAR_DIR or Redis?",
    )


@pytest.fixture
def report_cluster(no_live_cluster):
    """Return a function writing a cluster's report through the broker, as a cluster would; removed after."""
    broker = get_broker()
    keys = []

    def report(cluster_id="fake-cluster", *, host=None, age_seconds=0, status=Conf.IDLE):
        stat = Status(pid=1, cluster_id=cluster_id)
        stat.host = host or socket.gethostname()
        stat.status = status
        stat.timestamp = timezone.now() - datetime.timedelta(seconds=age_seconds)
        key = Stat.get_key(cluster_id)
        keys.append(key)
        broker.set_stat(key, SignedPackage.dumps(stat, True), 60)

    yield report
    for key in keys:
        forget_report(broker, key)
