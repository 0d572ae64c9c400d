"""What the run page shows: task rows in dependency order, a duration chart, the live payload.

Built from the run's snapshot and one query for its task runs, so a
500-task run costs the same number of queries as a 5-task one.
"""

import json
from dataclasses import dataclass

from django.utils import timezone

from ..engine.snapshot import Snapshot
from ..states import TASK_RERUNNABLE

# Longer outputs are cut on the page; the whole output is one click away.
OUTPUT_PREVIEW_CHARS = 2000

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
    output_preview: str
    output_truncated: bool

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
        return not self.is_group


def seconds_between(start, end=None):
    """Return the seconds from ``start`` to ``end`` (or now); None before it starts."""
    if start is None:
        return None
    return max(((end or timezone.now()) - start).total_seconds(), 0.0)


def display_order(snapshot):
    """Return [(task name, depth)]: siblings in dependency order, each group's tasks under it.

    Siblings are ordered by the dependencies between them, lifted to the
    sibling level (a task depending on something inside a sibling group comes
    after that group); ties and the rare lifted cycle keep definition order.
    """
    order = []

    def visit(siblings, depth):
        for name in _sibling_order(snapshot, siblings):
            order.append((name, depth))
            visit(snapshot.children[name], depth + 1)

    visit([name for name in snapshot.names if snapshot.parent(name) is None], 0)
    return order


def _sibling_order(snapshot, siblings):
    members = set(siblings)
    after = {name: set() for name in siblings}
    for sibling in siblings:
        for task in _subtree(snapshot, sibling):
            for upstream in snapshot.tasks[task]["depends_on"]:
                owner = _sibling_holding(snapshot, upstream, members)
                if owner is not None and owner != sibling:
                    after[sibling].add(owner)
    ordered, placed = [], set()
    while len(ordered) < len(siblings):
        ready = [n for n in siblings if n not in placed and after[n] <= placed]
        # A cycle between groups (possible once lifted): keep definition order.
        name = ready[0] if ready else next(n for n in siblings if n not in placed)
        ordered.append(name)
        placed.add(name)
    return ordered


def _subtree(snapshot, name):
    found, todo = [], [name]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(snapshot.children[current])
    return found


def _sibling_holding(snapshot, name, members):
    """Return the member of ``members`` that is ``name`` or one of its ancestors."""
    for candidate in [name, *snapshot.ancestors(name)]:
        if candidate in members:
            return candidate
    return None


def output_preview(output):
    """Return (pretty JSON cut to OUTPUT_PREVIEW_CHARS, whether it was cut)."""
    if output is None:
        return "", False
    text = json.dumps(output, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) <= OUTPUT_PREVIEW_CHARS:
        return text, False
    return text[:OUTPUT_PREVIEW_CHARS], True


def task_rows(run):
    """Return the run's TaskRows in display order (one query)."""
    snapshot = Snapshot(run.snapshot)
    task_runs = {tr.task_name: tr for tr in run.task_runs.all()}
    rows = []
    for name, depth in display_order(snapshot):
        task_run = task_runs.get(name)
        if task_run is None:  # cannot happen for engine-made runs; never break the page
            continue
        preview, truncated = output_preview(task_run.output)
        rows.append(
            TaskRow(
                task_run=task_run,
                depth=depth,
                is_group=snapshot.is_group(name),
                function=snapshot.function(name) or "",
                depends_on=list(snapshot.tasks[name]["depends_on"]),
                output_preview=preview,
                output_truncated=truncated,
            )
        )
    return rows


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
    """Return {task name: status} for the live payload."""
    return {row.name: row.task_run.status for row in rows}
