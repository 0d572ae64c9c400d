"""What the run page shows: task rows in dependency order, a duration chart, the live payload.

Built from the run's snapshot (its display order computed once per process)
and one query for the task runs of the page shown (see task_pages), so a
20 000-task run costs the same number of queries, and about the same time,
as a 5-task one.
"""

import functools
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from ..definitions.snapshots import stored_definition
from ..models.pools import describe_waits
from ..states import TASK_FINISHED, TASK_RERUNNABLE, TaskState
from ..templatetags.flowforge import duration
from . import mapped_instances
from .outputs import summarize

# Duration chart geometry, in SVG user units (the SVG scales to the page width).
CHART_WIDTH = 1000
CHART_LABEL_WIDTH = 220
CHART_ROW_HEIGHT = 22
CHART_AXIS_HEIGHT = 24
CHART_TICKS = 5


@dataclass
class TaskRow:
    """One task run as the page shows it."""

    task_run: object
    depth: int
    is_group: bool
    function: str
    depends_on: list
    output: object  # outputs.OutputSummary, or None
    waiting_for: str = ""  # why a pending task waits for its pool, if it does
    instances: str = ""  # a mapped task's: "5 of 6 succeeded · 1 failed"
    instances_url: str = ""  # the task run list filtered to its instances (paged)
    instances_count: int = 0

    @property
    def name(self):
        return self.task_run.task_name

    @property
    def indent_em(self):
        return round(self.depth * 1.5, 1)

    @property
    def duration(self):
        return seconds_between(self.task_run.started_at, self.task_run.finished_at)

    @property
    def can_retry(self):
        return self.task_run.status in TASK_RERUNNABLE

    @property
    def can_mark(self):
        # An approval step is decided by its approvers (engine/approvals.py), never marked.
        return not self.is_group and self.task_run.approval_group is None

    @property
    def can_clear(self):
        """Finished tasks (succeeded ones too), groups and waiting sensors can be cleared: run again as new attempts."""
        return self.task_run.status in TASK_FINISHED or self.task_run.status == TaskState.WAITING


def seconds_between(start, end=None):
    """Return the seconds from ``start`` to ``end`` (or now); None before it starts."""
    if start is None:
        return None
    return max(((end or timezone.now()) - start).total_seconds(), 0.0)


@dataclass(frozen=True)
class TaskOrder:
    """A run's tasks in display order, with each task's depth and place."""

    names: tuple
    depths: dict
    position: dict


@functools.lru_cache(maxsize=16)
def task_order(run_id, created_at):
    """Return the TaskOrder of a run, computed once per process.

    A run's snapshot never changes (see stored_definition for the key), and a
    20 000-task run takes about a tenth of a second to order.
    """
    order = stored_definition(run_id, created_at).graph.display_order()
    return TaskOrder(
        names=tuple(name for name, _ in order),
        depths=dict(order),
        position={name: i for i, (name, _) in enumerate(order)},
    )


def task_rows(run, names, task_runs=None):
    """Return the TaskRows of ``names``, in that order, from one query (or the given task runs).

    Their artifacts come in the same query (a join): a page of outputs costs
    no more queries than a page without.
    """
    graph = stored_definition(run.pk, run.created_at).graph
    depths = task_order(run.pk, run.created_at).depths
    if task_runs is None:
        task_runs = run.task_runs.filter(task_name__in=list(names))
    task_runs = task_runs.select_related("artifact")
    by_name = {task_run.task_name: task_run for task_run in task_runs}
    waits = describe_waits({_pool_wait(task_run) for task_run in by_name.values()} - {None})
    mapped = [name for name in names if graph.record(name).get("map_over")]
    instances = mapped_instances.summaries(run.pk, mapped) if mapped else {}
    rows = []
    for name in names:
        task_run = by_name.get(name)
        if task_run is None:  # cannot happen for engine-made runs; never break the page
            continue
        rows.append(
            TaskRow(
                task_run=task_run,
                depth=depths[name],
                is_group=graph.is_group(name),
                function=graph.record(name)["function"] or "",
                depends_on=list(graph.depends_on(name)),
                output=summarize(task_run),
                waiting_for=waits.get(_pool_wait(task_run), "") or _next_check(task_run),
                **instances.get(name, {}),
            )
        )
    return rows


def _next_check(task_run):
    """What a waiting sensor waits for (its next check's time and number), or a waiting approval step (whom)."""
    if task_run.status != TaskState.WAITING:
        return ""
    if task_run.approval_group is not None:
        whom = task_run.approval_group or _("those with the approve permission")
        text = _("waiting for approval by %(whom)s") % {"whom": whom}
        if task_run.next_attempt_at is not None:
            text += " " + _("(decide by %(time)s)") % {
                "time": timezone.localtime(task_run.next_attempt_at).strftime("%Y-%m-%d %H:%M")
            }
        return text
    if task_run.next_attempt_at is None:
        return ""
    when = timezone.localtime(task_run.next_attempt_at)
    return _("next check at %(time)s, check %(number)s") % {
        "time": when.strftime("%H:%M:%S"),
        "number": task_run.checks + 1,
    }


def _pool_wait(task_run):
    """(pool, slots) of a task run pending for want of a slot, else None."""
    if task_run.pool_waiting_since is None or task_run.status != TaskState.PENDING:
        return None
    return task_run.pool, task_run.pool_slots


@dataclass
class Bar:
    name: str
    status: str
    y: float
    x: float
    width: float


def chart(run, rows):
    """Return the duration chart (Airflow's Gantt) geometry for ``rows``, or None before any start."""
    started = [row.task_run.started_at for row in rows if row.task_run.started_at]
    if not started:
        return None
    now = timezone.now()
    begin = min([run.started_at or min(started), *started])
    ends = [row.task_run.finished_at or now for row in rows if row.task_run.started_at]
    end = run.finished_at or max([now if not run.is_finished else begin, *ends])
    span = max((end - begin).total_seconds(), 0.001)
    scale = (CHART_WIDTH - CHART_LABEL_WIDTH) / span
    bars = []
    for index, row in enumerate(rows):
        task_run = row.task_run
        y = CHART_AXIS_HEIGHT + index * CHART_ROW_HEIGHT + 4
        if task_run.started_at is None:
            continue
        x = CHART_LABEL_WIDTH + (task_run.started_at - begin).total_seconds() * scale
        width = max(seconds_between(task_run.started_at, task_run.finished_at or now) * scale, 2)
        bars.append(Bar(row.name, task_run.status, round(y, 1), round(x, 1), round(width, 1)))
    ticks = [
        {
            "x": round(CHART_LABEL_WIDTH + (CHART_WIDTH - CHART_LABEL_WIDTH) * i / CHART_TICKS, 1),
            "seconds": span * i / CHART_TICKS,
        }
        for i in range(CHART_TICKS + 1)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_AXIS_HEIGHT + len(rows) * CHART_ROW_HEIGHT + 4,
        "label_width": CHART_LABEL_WIDTH,
        "row_height": CHART_ROW_HEIGHT,
        "labels": [
            {
                "name": row.name,
                "y": CHART_AXIS_HEIGHT + i * CHART_ROW_HEIGHT + 15,
                "indent": 6 + row.depth * 12,
            }
            for i, row in enumerate(rows)
        ],
        "bars": bars,
        "ticks": ticks,
        "begin": begin,
        "span": span,
    }


def task_statuses(rows):
    """Return {task name: status} of ``rows``, for the live payload."""
    return {row.name: row.task_run.status for row in rows}


def running_durations(rows):
    """Return {row id: duration text} of the rows whose duration grows (started, not finished)."""
    return {
        f"task-{row.name}": duration(row.duration)
        for row in rows
        if row.task_run.started_at is not None and row.task_run.finished_at is None
    }
