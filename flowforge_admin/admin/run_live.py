"""What the run page's live poll sends: the task rows changed since the last poll.

Every change of a run's task runs counts the run's ``revision`` up and
stamps the task runs it writes with it (engine/transitions.py). The page
keeps a marker, ``<revision>`` or ``<revision>.<task run id>``, and sends
it back with each poll; the answer holds the rows of the page shown whose
(revision, id) comes after it, at most DELTA_ROWS of them (``more`` says
when there are others: the page asks again at once), and the marker to
send next. Revisions are committed in order (the run's lock hands them out),
so a row is never committed behind a marker already given.

With no marker, one it cannot read, one from the future (another database)
or a page whose rows changed (a status filter's members), the answer is
the whole page, as the first load draws it.
"""

import re
from dataclasses import dataclass

from ..models import TaskRun
from .run_page import seconds_between, task_order

# At most this many changed rows per answer (about 2 kB each): a poll stays
# well under 100 kB however many tasks of the page changed at once.
DELTA_ROWS = 20
MARKER = re.compile(r"(\d{1,18})(?:\.(\d{1,18}))?")
# What the poll reads of every row of the page: enough for the chart, the
# running durations and the choice of rows to send (not outputs nor errors).
LIGHT_FIELDS = ("id", "run_id", "task_name", "status", "started_at", "finished_at", "revision")


@dataclass(frozen=True)
class Marker:
    """Where a page is: every row up to (revision, after_id) sent; after_id None: all of that revision."""

    revision: int
    after_id: int | None = None

    def __str__(self):
        return str(self.revision) if self.after_id is None else f"{self.revision}.{self.after_id}"

    def sent(self, task_run):
        """Whether the page has ``task_run`` as it is now."""
        if self.after_id is None:
            return task_run.revision <= self.revision
        return (task_run.revision, task_run.pk) <= (self.revision, self.after_id)


def parse_marker(text):
    """Return the Marker in ``text``, or None when there is none to read."""
    match = MARKER.fullmatch(text or "")
    if match is None:
        return None
    revision, after_id = match.groups()
    return Marker(int(revision), None if after_id is None else int(after_id))


@dataclass
class Line:
    """A row of the page as the chart and the durations need it."""

    name: str
    depth: int
    task_run: object

    @property
    def duration(self):
        return seconds_between(self.task_run.started_at, self.task_run.finished_at)


def page_lines(run, names):
    """Return the page's rows, light (LIGHT_FIELDS only), in the order of ``names`` (one query)."""
    depths = task_order(run.pk, run.created_at).depths
    by_name = {
        task_run.task_name: task_run
        for task_run in TaskRun.objects.filter(run=run, task_name__in=list(names)).only(*LIGHT_FIELDS)
    }
    return [Line(name, depths[name], by_name[name]) for name in names if name in by_name]


def changed_since(run, lines, marker):
    """Return (the task runs to send, the next marker, whether more are waiting)."""
    newer = sorted(
        (line.task_run for line in lines if not marker.sent(line.task_run)),
        key=lambda task_run: (task_run.revision, task_run.pk),
    )
    sent = newer[:DELTA_ROWS]
    if len(newer) > DELTA_ROWS:
        return sent, Marker(sent[-1].revision, sent[-1].pk), True
    # All sent: the run's revision (read before the rows), or a newer one a row had.
    return sent, Marker(max([run.revision, marker.revision, *(t.revision for t in sent)])), False
