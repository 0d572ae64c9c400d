"""The grid of a flow's recent runs by task, as Airflow's Grid view draws it.

One column per run (oldest left), one row per task, one cell per task run.
Built from two queries whatever the number of runs and tasks: the runs, then
their task runs' names and statuses.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from ..models import FlowRun, TaskRun
from ..states import TaskState
from ..templatetags.flowforge import LABELS

GRID_RUNS = 25
# Deeper nesting is drawn at this depth: the names stay readable.
MAX_INDENT = 8


@dataclass(frozen=True)
class GridColumn:
    """One run: its header links to the run page."""

    pk: int
    status: str
    url: str
    short_date: str
    title: str


@dataclass(slots=True)
class GridCell:
    """One task run; ``status`` is None when the task was not part of that run."""

    status: str | None
    url: str
    title: str


@dataclass(frozen=True)
class GridRow:
    name: str
    indent: int
    current: bool  # still a task of the flow's current definition
    cells: tuple


@dataclass(frozen=True)
class RunGrid:
    columns: tuple
    rows: tuple
    states: tuple = ()  # the task states the grid shows, for its legend


def recent_runs(flow, limit=GRID_RUNS):
    """Return the flow's ``limit`` newest runs, oldest first (one query)."""
    # Not flow.runs: the related manager would set .flow on each run, and
    # reading the deferred flow_id for that costs a query per run.
    runs = (
        FlowRun.objects.filter(flow_id=flow.pk)
        .order_by("-created_at", "-id")
        .only("id", "status", "created_at", "logical_date")[:limit]
    )
    return list(runs)[::-1]


def task_statuses(runs):
    """Return ``[(run id, task name, status), ...]`` of the runs' task runs (one query)."""
    if not runs:
        return []
    return list(
        # A mapped task is one row: its instances are not rows of their own.
        TaskRun.objects.filter(run__in=[run.pk for run in runs], map_index__isnull=True)
        .order_by("run_id", "id")
        .values_list("run_id", "task_name", "status")
    )


def build_run_grid(flow, tasks, limit=GRID_RUNS):
    """Return the RunGrid of ``flow``'s last ``limit`` runs.

    ``tasks`` are the flow's current tasks in tree order (with ``name`` and
    ``level``): they give the rows and their indentation. Tasks that only
    older runs had follow them, in the order they were first met.
    """
    runs = recent_runs(flow, limit)
    columns = tuple(_column(run) for run in runs)
    statuses = {}
    names = {task.name: min(task.level, MAX_INDENT) for task in tasks}
    current = set(names)
    for run_id, name, status in task_statuses(runs):
        statuses[run_id, name] = status
        names.setdefault(name, 0)
    # Translated once: a large flow has thousands of cells.
    cell = _cell_maker(
        _("%(task)s: %(status)s in run #%(pk)s"),
        _("%(task)s: not in run #%(pk)s"),
        {status: str(label) for status, label in LABELS.items()},
    )
    rows = tuple(
        GridRow(
            name=name,
            indent=indent,
            current=name in current,
            cells=tuple(cell(column, name, statuses.get((column.pk, name))) for column in columns),
        )
        for name, indent in names.items()
    )
    shown = set(statuses.values())
    return RunGrid(
        columns=columns,
        rows=rows if columns else (),
        states=tuple(state for state in TaskState.values if state in shown),
    )


def _column(run):
    # Labelled by the moment of data each run is for (its launch, unless given).
    when = localtime(run.logical_date)
    label = LABELS.get(run.status, run.status)
    return GridColumn(
        pk=run.pk,
        status=run.status,
        url=reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]),
        short_date=date_format(when, "m-d H:i"),
        title=_("Run #%(pk)s, %(status)s, logical date %(when)s")
        % {"pk": run.pk, "status": label, "when": date_format(when, "Y-m-d H:i")},
    )


def _cell_maker(title, missing_title, labels):
    """Return a function making the GridCell of one task in one run."""

    def cell(column, name, status):
        if status is None:
            return GridCell(None, "", missing_title % {"task": name, "pk": column.pk})
        return GridCell(
            status,
            f"{column.url}#task-{name}",
            title % {"task": name, "status": labels.get(status, status), "pk": column.pk},
        )

    return cell
