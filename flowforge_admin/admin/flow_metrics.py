"""The flow page's "Metrics across runs" chart: one line per metric name over the flow's last runs.

Two queries: the ids of the flow's last CHART_RUNS runs, then each run's last
value of each metric (the database picks it: by step, then id, over all the
run's tasks). The page draws it with Chart.js (js/metrics_chart.js).
"""

import math

from django.utils.formats import date_format
from django.utils.timezone import localtime

from ..models import FlowRun
from .run_metrics import last_values

# The chart shows this many of the flow's newest runs, oldest left.
CHART_RUNS = 50
# At most this many lines (metric names, alphabetical); more would be unreadable.
CHART_LINES = 12


def flow_metrics_chart(flow):
    """Return the chart's data {"runs", "labels", "lines", "more"}, or None when no run logged a metric."""
    runs = list(
        FlowRun.objects.filter(flow=flow)
        .order_by("-created_at", "-id")
        .values("id", "created_at")[:CHART_RUNS]
    )
    if not runs:
        return None
    runs.reverse()
    values = {}
    for run_id, name, value in last_values(run["id"] for run in runs):
        # JSON has no infinity: an infinite value leaves a gap, like NaN.
        values.setdefault(name, {})[run_id] = value if value is not None and math.isfinite(value) else None
    if not values:
        return None
    names = sorted(values)
    return {
        "runs": [run["id"] for run in runs],
        "labels": [[f"#{run['id']}", date_format(localtime(run["created_at"]), "m-d H:i")] for run in runs],
        # None (NaN, or not logged in that run) leaves a gap in the line.
        "lines": [
            {"name": name, "values": [values[name].get(run["id"]) for run in runs]}
            for name in names[:CHART_LINES]
        ],
        "more": len(names) - min(len(names), CHART_LINES),
    }
