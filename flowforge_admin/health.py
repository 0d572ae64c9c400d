"""Health of the worker side: are Django-Q2 clusters alive, and does the queue move?

Every Django-Q2 cluster writes its state (a ``Stat``: cluster id, host, status,
timestamp) through the broker about twice a second, with a 3 s expiry: the
Redis broker keeps it in Redis, the ORM broker in Django's cache, which the
project's settings make shared between processes. A cluster counts as alive
when its last report is at most ``FLOWFORGE_WORKER_STALE_SECONDS`` old and it
is not stopping.

Used by ``/health/workers/`` (the django-health-check checks below), by
``manage.py worker_health`` (a worker pod's probe) and by ``/metrics``.
"""

import dataclasses

from asgiref.sync import sync_to_async
from django.db.models import Min
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat
from health_check import HealthCheck
from health_check.exceptions import ServiceUnavailable

from .conf import get_setting
from .models import TaskRun
from .states import TaskState


def cluster_stats(broker=None):
    """Return the last report of every cluster the broker still holds (alive, stale or stopped)."""
    return Stat.get_all(broker or get_broker())


def is_alive(stat, now):
    """Whether the cluster that wrote ``stat`` reported recently and is not stopping."""
    # Statuses are lazy translations, here and in the unpickled report: compare their text.
    if str(stat.status) in {str(Conf.STOPPED), str(Conf.STOPPING)}:
        return False
    return (now - stat.timestamp).total_seconds() <= get_setting("FLOWFORGE_WORKER_STALE_SECONDS")


def alive_clusters(stats, now=None):
    """Return the reports in ``stats`` whose cluster is alive."""
    now = now or timezone.now()
    return [stat for stat in stats if is_alive(stat, now)]


def describe_clusters(stats, now=None):
    """Say, for a message, which clusters reported and how long ago."""
    now = now or timezone.now()
    if not stats:
        return "no cluster has reported"
    return ", ".join(
        f"{stat.cluster_id} on {stat.host}: {stat.status}, {(now - stat.timestamp).total_seconds():.0f} s ago"
        for stat in stats
    )


def oldest_queued_age(now=None):
    """Return how long (seconds) the oldest queued task run has waited for a worker, or None."""
    oldest = TaskRun.objects.filter(status=TaskState.QUEUED).aggregate(oldest=Min("queued_at"))["oldest"]
    if oldest is None:
        return None
    return ((now or timezone.now()) - oldest).total_seconds()


@dataclasses.dataclass
class WorkerClusters(HealthCheck):
    """At least one Django-Q2 cluster reported within ``FLOWFORGE_WORKER_STALE_SECONDS``.

    The report shows the number of alive clusters (``alive``).
    """

    # Measured by run(); a field so that the report (JSON, HTML, text) shows it.
    alive: int | None = dataclasses.field(default=None, init=False)

    async def run(self):
        stats = await sync_to_async(cluster_stats)()
        now = timezone.now()
        self.alive = len(alive_clusters(stats, now))
        if not self.alive:
            stale = get_setting("FLOWFORGE_WORKER_STALE_SECONDS")
            raise ServiceUnavailable(
                f"no Django-Q2 cluster reported in the last {stale} s ({describe_clusters(stats, now)})"
            )


@dataclasses.dataclass
class TaskQueue(HealthCheck):
    """Queued task runs do not wait longer than ``FLOWFORGE_MAX_QUEUED_AGE_SECONDS`` (0: no limit).

    The report shows the broker's queue depth (``depth``) and how long the
    oldest queued task run has waited (``oldest_queued_seconds``; None when
    nothing is queued).
    """

    depth: int | None = dataclasses.field(default=None, init=False)
    oldest_queued_seconds: float | None = dataclasses.field(default=None, init=False)

    async def run(self):
        self.depth = await sync_to_async(lambda: get_broker().queue_size())()
        age = await sync_to_async(oldest_queued_age)()
        self.oldest_queued_seconds = None if age is None else round(age, 1)
        limit = get_setting("FLOWFORGE_MAX_QUEUED_AGE_SECONDS")
        if limit and age is not None and age > limit:
            raise ServiceUnavailable(
                f"the oldest queued task has waited {age:.0f} s for a worker (limit {limit} s)"
            )
