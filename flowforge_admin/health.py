"""Health of the worker side: are Django-Q2 clusters alive, and does the queue move?

Every Django-Q2 cluster writes its state (a ``Stat``: cluster id, host, status,
timestamp) through the broker about twice a second, with a 3 s expiry: the
Redis broker keeps it in Redis, the ORM broker in Django's cache, which the
project's settings make shared between processes. A cluster counts as alive
when its last report is at most ``FLOWFORGE_WORKER_STALE_SECONDS`` old and it
is not stopping.

Used by ``/health/workers/`` (the django-health-check checks below), by
``manage.py worker_health`` (a worker pod's probe) and by ``/metrics``.

Queues: every Django-Q2 cluster name a task may be sent to (the project's own
cluster, the dedicated ones ``FLOWFORGE_QUEUES`` lists and those the flows'
tasks name) with the messages waiting in it, which no cluster has taken yet.

A ``waiting`` task run (a sensor between checks) holds no worker: it is
neither queued work nor lost work, and its timed message is not counted in a
queue's depth before it is due.
"""

import dataclasses
import sys

from asgiref.sync import sync_to_async
from django.db.models import Count, Min
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.status import Stat
from health_check import HealthCheck
from health_check.exceptions import ServiceUnavailable

from .conf import get_setting
from .models import Task, TaskRun
from .queues import default_queue, known_queues
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


def queue_names():
    """Return the queues there are, sorted: the project's cluster, FLOWFORGE_QUEUES, the flows' (one query)."""
    names = {default_queue(), *(known_queues() or ())}
    names.update(Task.objects.exclude(queue="").order_by().values_list("queue", flat=True).distinct())
    return sorted(names)


def queue_depths(names=None):
    """Return ``{queue: messages waiting}`` for ``names`` (default: :func:`queue_names`).

    One query with the ORM broker (its rows by key, those no cluster has
    locked), one round trip to Redis (the lists' lengths).
    """
    names = queue_names() if names is None else list(names)
    broker = get_broker()
    if isinstance(broker, ORM):
        waiting = dict(
            OrmQ.objects.using(Conf.ORM)
            .filter(key__in=names, lock__lte=timezone.now())
            .order_by()
            .values_list("key")
            .annotate(Count("pk"))
        )
        return {name: waiting.get(name, 0) for name in names}
    redis_broker = sys.modules.get("django_q.brokers.redis_broker")
    if redis_broker is not None and isinstance(broker, redis_broker.Redis):
        pipeline = broker.connection.pipeline(transaction=False)
        for name in names:
            pipeline.llen(redis_broker.Redis(list_key=name).list_key)
        return dict(zip(names, pipeline.execute(), strict=True))
    return {name: get_broker(name).queue_size() for name in names}


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


@dataclasses.dataclass
class Queues(HealthCheck):
    """The queues (Django-Q2 cluster names) and the messages waiting in each (``depths``).

    A report, not a condition: a deep queue shows here, and a task that waits
    too long for any cluster fails :class:`TaskQueue`.
    """

    depths: dict | None = dataclasses.field(default=None, init=False)

    async def run(self):
        self.depths = await sync_to_async(queue_depths)()
