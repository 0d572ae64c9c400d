"""Runs side by side (the compare page): parameters, metrics, tags, tasks and whether outputs differ.

Three queries whatever the number of tasks, besides the runs themselves: the
task runs (with their artifact's signature, never the file), each run's last
value of each metric, and the tags. Outputs are compared by their JSON (task
runs with a JSON output) or their artifact's signature (equal values have
equal signatures), so no artifact is ever loaded.
"""

import json
import math
import re
from dataclasses import dataclass, field

from ..models import Tag, TaskRun
from .run_metrics import last_values, metric_text
from .run_page import seconds_between

# Metric names with one of these word parts are better lower; every other metric is better higher.
LOWER_IS_BETTER = frozenset({"loss", "error", "rmse", "mse", "mae", "mape", "logloss", "duration", "time"})
# The same words when written as two parts ("log_loss", "log-loss").
LOWER_IS_BETTER_PAIRS = frozenset({("log", "loss")})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def word_parts(name):
    """Split a metric name in lowercase word parts: "val_RMSE" -> val, rmse; "trainLoss" -> train, loss."""
    return [part for part in _SEPARATORS.split(_CAMEL.sub("_", name).lower()) if part]


def lower_is_better(name):
    """True for a metric whose smaller values are better (a loss, an error, a duration)."""
    parts = word_parts(name)
    return any(part in LOWER_IS_BETTER for part in parts) or any(
        pair in LOWER_IS_BETTER_PAIRS for pair in zip(parts, parts[1:], strict=False)
    )


@dataclass
class Row:
    """One line of a comparison table: a label and one cell per run (None: the run has none)."""

    label: str
    cells: list
    best: list = field(default_factory=list)  # per cell: the best value of the row
    lower_is_better: bool = False

    @property
    def differs(self):
        return len(set(self.cells)) > 1

    @property
    def marked(self):
        """(cell, is best) per run, for the template."""
        return list(zip(self.cells, self.best or [False] * len(self.cells), strict=True))


@dataclass
class TaskLine:
    """One task across the runs: each run's task run (a dict, None if absent) and whether outputs differ."""

    name: str
    cells: list
    output: str | None  # "same", "differs", or None when fewer than two runs have the task


@dataclass
class Column:
    run: object

    @property
    def duration(self):
        run = self.run
        return seconds_between(run.started_at, run.finished_at if run.is_finished else None)


def param_rows(runs):
    keys = sorted({key for run in runs for key in (run.params or {})})
    return [
        Row(key, [_json(run.params[key]) if key in (run.params or {}) else None for run in runs])
        for key in keys
    ]


def metric_rows(runs):
    by_name = {}
    for run_id, name, value in last_values(run.pk for run in runs):
        by_name.setdefault(name, {})[run_id] = value
    rows = []
    for name in sorted(by_name):
        values = by_name[name]
        row = Row(
            name,
            [metric_text(values[run.pk]) if run.pk in values else None for run in runs],
            lower_is_better=lower_is_better(name),
        )
        row.best = best_cells([values.get(run.pk) for run in runs], row.lower_is_better)
        rows.append(row)
    return rows


def best_cells(values, lower):
    """Which of ``values`` are the best (several on a tie); none when fewer than two differ."""
    numbers = [v for v in values if v is not None and not math.isnan(v)]
    if len(set(numbers)) < 2:
        return [False] * len(values)
    best = min(numbers) if lower else max(numbers)
    return [v == best for v in values]


def tag_rows(runs):
    by_key = {}
    for run_id, key, value in Tag.objects.filter(run_id__in=[run.pk for run in runs]).values_list(
        "run_id", "key", "value"
    ):
        by_key.setdefault(key, {}).setdefault(run_id, set()).add(value)
    return [
        Row(key, [", ".join(sorted(by_key[key][run.pk])) if run.pk in by_key[key] else None for run in runs])
        for key in sorted(by_key)
    ]


def task_lines(runs):
    """One TaskLine per task name, in the first run's order, then the tasks only later runs have."""
    found = {}
    order = {run.pk: i for i, run in enumerate(runs)}
    task_runs = (
        # A mapped task is one line (its gathered output): its instances are not compared one by one.
        TaskRun.objects.filter(run_id__in=list(order), map_index__isnull=True)
        .order_by("run_id", "id")
        .values("run_id", "task_name", "status", "started_at", "finished_at", "output", "artifact__signature")
    )
    names = []
    for task_run in sorted(task_runs, key=lambda t: order[t["run_id"]]):
        if task_run["task_name"] not in found:
            found[task_run["task_name"]] = [None] * len(runs)
            names.append(task_run["task_name"])
        task_run["duration"] = seconds_between(task_run["started_at"], task_run["finished_at"])
        found[task_run["task_name"]][order[task_run["run_id"]]] = task_run
    return [TaskLine(name, found[name], compare_outputs(found[name])) for name in names]


def output_key(task_run):
    """What two outputs must share to be the same: the artifact's signature, or the JSON."""
    if task_run["artifact__signature"]:
        return ("artifact", task_run["artifact__signature"])
    return ("json", _json(task_run["output"]))


def compare_outputs(cells):
    present = [output_key(cell) for cell in cells if cell is not None]
    if len(present) < 2:
        return None
    return "same" if len(set(present)) == 1 else "differs"


def _json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def compare(runs):
    """Return everything the compare page shows of ``runs`` (FlowRuns, in column order)."""
    return {
        "columns": [Column(run) for run in runs],
        "params": param_rows(runs),
        "metrics": metric_rows(runs),
        "tags": tag_rows(runs),
        "tasks": task_lines(runs),
    }
