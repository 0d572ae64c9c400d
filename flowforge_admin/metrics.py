"""Prometheus metrics of runs, task runs, the queue and the workers, read at scrape time.

``FlowForgeCollector`` reads the database when Prometheus scrapes, with the
same number of queries however many runs exist: one over flow runs (runs by
status, and task runs by status from the counters each run keeps), one
aggregate over task runs (the duration histogram, lost attempts, the oldest
queued task), and the broker's queue size (one more query with the ORM
broker, none with Redis). Cluster reports come from Redis or the shared
cache, not the database.
"""

import datetime
import math

from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django_q.brokers import get_broker
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from .health import alive_clusters, cluster_stats
from .models import FlowRun, TaskRun
from .models.runs import count_field
from .states import TASK_FINISHED, RunState, TaskState

# Upper bounds (seconds) of the task duration histogram's buckets; +Inf is added.
DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 1800)


def run_counts():
    """Return ({run status: runs}, {task status: task runs}) in one query.

    Task runs are summed from the per-status counters of their flow run, kept
    in the same transactions as the task runs, so no task row is counted.
    """
    totals = FlowRun.objects.aggregate(
        **{f"run_{state}": Count("pk", filter=Q(status=state)) for state in RunState.values},
        **{f"task_{state}": Sum(count_field(state)) for state in TaskState.values},
    )
    runs = {state: totals[f"run_{state}"] for state in RunState.values}
    tasks = {state: totals[f"task_{state}"] or 0 for state in TaskState.values}
    return runs, tasks


def task_run_totals():
    """Return the duration histogram, lost attempts and oldest queued time of task runs, in one query.

    A task run's duration runs from its first start to its end (retries
    included); only finished task runs that started count.
    """
    finished = Q(status__in=sorted(TASK_FINISHED), started_at__isnull=False, finished_at__isnull=False)
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    buckets = {
        f"le_{index}": Count(
            "pk", filter=Q(finished, LessThanOrEqual(duration, datetime.timedelta(seconds=bound)))
        )
        for index, bound in enumerate(DURATION_BUCKETS)
    }
    totals = TaskRun.objects.aggregate(
        **buckets,
        count=Count("pk", filter=finished),
        duration_sum=Sum(duration, filter=finished),
        lost_attempts=Sum("lost_attempts"),
        oldest_queued=Min("queued_at", filter=Q(status=TaskState.QUEUED)),
    )
    # Bucket labels as Prometheus' own clients write them ("1.0", "+Inf").
    totals["buckets"] = [
        (floatToGoString(bound), totals[f"le_{index}"]) for index, bound in enumerate(DURATION_BUCKETS)
    ] + [(floatToGoString(math.inf), totals["count"])]
    return totals


class FlowForgeCollector:
    """A prometheus_client collector of Flow Forge's state, read when collected."""

    def collect(self):
        runs, tasks = run_counts()
        yield self.by_status("flowforge_flow_runs", "Flow runs by status.", runs)
        yield self.by_status("flowforge_task_runs", "Task runs by status.", tasks)

        totals = task_run_totals()
        duration_sum = totals["duration_sum"] or datetime.timedelta(0)
        yield HistogramMetricFamily(
            "flowforge_task_run_duration_seconds",
            "Time from start to end of finished task runs (retries included).",
            buckets=totals["buckets"],
            sum_value=duration_sum.total_seconds(),
        )
        yield CounterMetricFamily(
            "flowforge_lost_attempts",
            "Task attempts whose worker died, handed on by the watchdog or the lost-work check.",
            value=totals["lost_attempts"] or 0,
        )
        oldest = totals["oldest_queued"]
        yield GaugeMetricFamily(
            "flowforge_oldest_queued_task_age_seconds",
            "How long the oldest queued task run has waited for a worker (0 when none is queued).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0,
        )
        yield GaugeMetricFamily(
            "flowforge_queue_depth",
            "Messages waiting in the broker's queue.",
            value=get_broker().queue_size(),
        )
        yield GaugeMetricFamily(
            "flowforge_worker_clusters",
            "Django-Q2 clusters that reported within FLOWFORGE_WORKER_STALE_SECONDS.",
            value=len(alive_clusters(cluster_stats())),
        )

    @staticmethod
    def by_status(name, documentation, counts):
        family = GaugeMetricFamily(name, documentation, labels=["status"])
        for state, count in counts.items():
            family.add_metric([state], count)
        return family
