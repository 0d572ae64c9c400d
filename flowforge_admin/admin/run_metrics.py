"""The run page's Metrics section: each metric a task logged, summed up, and the run's tags.

Two queries whatever the number of values logged: one for the metrics (the
database sums each series up with window functions and sends only its last
SPARK_POINTS values, for the sparkline), one for the tags.
"""

import math
from dataclasses import dataclass, field

from django.db.models import Count, F, Max, Min, Window
from django.db.models.functions import RowNumber

from ..models import Metric, Tag

# The sparkline draws a series' last values, at most this many.
SPARK_POINTS = 50
# At most this many series on the page (a run logs a few; more is a mistake worth a note).
MAX_SERIES = 200
SPARK_WIDTH = 120
SPARK_HEIGHT = 24


def metric_text(value):
    """A metric's value as the pages show it: NaN for None (how NaN is stored), 6 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.6g}"


def last_first():
    """The order of a series from its last value: by step, then by id (a value without step comes first)."""
    return [F("step").desc(nulls_last=True), F("id").desc()]


@dataclass
class Series:
    """One metric of one task run."""

    task_name: str
    name: str
    count: int
    steps: int  # values logged with a step
    low: float | None
    high: float | None
    last: float | None = None
    points: list = field(default_factory=list)  # oldest first

    @property
    def last_text(self):
        return metric_text(self.last)

    @property
    def per_step(self):
        return self.steps > 0

    @property
    def low_text(self):
        return metric_text(self.low) if self.per_step else ""

    @property
    def high_text(self):
        return metric_text(self.high) if self.per_step else ""

    @property
    def sparkline(self):
        """The polyline points of the sparkline (SVG units), or "" with fewer than 2 numbers."""
        numbers = [(i, v) for i, v in enumerate(self.points) if v is not None and math.isfinite(v)]
        if len(numbers) < 2 or len(self.points) < 2:
            return ""
        low = min(v for _, v in numbers)
        span = (max(v for _, v in numbers) - low) or 1.0
        x_step = SPARK_WIDTH / (len(self.points) - 1)
        return " ".join(
            f"{i * x_step:.1f},{SPARK_HEIGHT - 2 - (v - low) / span * (SPARK_HEIGHT - 4):.1f}"
            for i, v in numbers
        )


def run_series(run):
    """Return the run's metric Series, by task then name: one query."""
    partition = [F("task_run_id"), F("name")]
    rows = (
        Metric.objects.filter(run=run)
        .annotate(
            position=Window(RowNumber(), partition_by=partition, order_by=last_first()),
            total=Window(Count("id"), partition_by=partition),
            stepped=Window(Count("step"), partition_by=partition),
            low=Window(Min("value"), partition_by=partition),
            high=Window(Max("value"), partition_by=partition),
        )
        .filter(position__lte=SPARK_POINTS)
        .order_by("task_run_id", "name", "position")
        .values(
            "task_run__task_name",
            "task_run_id",
            "name",
            "value",
            "position",
            "total",
            "stepped",
            "low",
            "high",
        )
    )
    series = {}
    for row in rows:
        key = (row["task_run_id"], row["name"])
        one = series.get(key)
        if one is None:
            if len(series) >= MAX_SERIES:
                continue
            one = series[key] = Series(
                task_name=row["task_run__task_name"],
                name=row["name"],
                count=row["total"],
                steps=row["stepped"],
                low=row["low"],
                high=row["high"],
                last=row["value"],
            )
        one.points.append(row["value"])
    for one in series.values():
        one.points.reverse()
    return sorted(series.values(), key=lambda s: (s.task_name, s.name))


def last_values(run_ids):
    """Return (run id, name, value) of each run's last value of each metric, over all its tasks: one query."""
    return (
        Metric.objects.filter(run_id__in=list(run_ids))
        .annotate(position=Window(RowNumber(), partition_by=[F("run_id"), F("name")], order_by=last_first()))
        .filter(position=1)
        .values_list("run_id", "name", "value")
    )


def run_tags(run):
    """Return the run's tags (key, value, task name), by key: one query."""
    return list(
        Tag.objects.filter(run=run)
        .order_by("key", "task_run__task_name")
        .values("key", "value", task_name=F("task_run__task_name"))
    )


def metrics_context(run):
    """What the run page's Metrics section needs (templates/.../flowrun/_metrics.html)."""
    series = run_series(run)
    return {
        "metric_series": series,
        "metric_series_capped": len(series) >= MAX_SERIES,
        "run_tags": run_tags(run),
        "spark": {"width": SPARK_WIDTH, "height": SPARK_HEIGHT, "points": SPARK_POINTS},
    }
