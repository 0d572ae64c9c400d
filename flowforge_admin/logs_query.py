"""Reading one attempt of a task run's log, a bounded slice at a time.

A task may log hundreds of thousands of lines, so nothing here loads an
attempt's log whole: pages and "lines since" answers are keyset slices on the
line id (the index ``(task_run, attempt, id)`` serves them, whatever the log's
size, without OFFSET or COUNT), and the download walks the log in chunks of
the same kind, one short query each.
"""

import dataclasses
import datetime
import logging
from typing import NamedTuple

from .models import TaskLog

# Minimum levels a reader can choose; ERROR includes CRITICAL.
LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}
FIELDS = ("id", "logged_at", "level", "source", "message")
DOWNLOAD_CHUNK = 2000


class LogLine(NamedTuple):
    """One stored log line, as the pages, the JSON and the download show it."""

    id: int
    logged_at: datetime.datetime
    level: int
    source: str
    message: str

    @property
    def level_name(self):
        """DEBUG, INFO, ... (a custom level reads "Level 25", as logging names it)."""
        return logging.getLevelName(self.level)

    @property
    def severity(self):
        """The colour class of the line: debug, info, warning or error."""
        if self.level >= logging.ERROR:
            return "error"
        if self.level >= logging.WARNING:
            return "warning"
        if self.level >= logging.INFO:
            return "info"
        return "debug"

    @property
    def timestamp(self):
        """The time in UTC with milliseconds: 2026-11-25T10:00:00.123Z."""
        when = self.logged_at.astimezone(datetime.UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"

    def as_text(self):
        """The line as the download writes it: time, level, source, message."""
        return f"{self.timestamp} {self.level_name} {self.source or '-'} {self.message}\n"


@dataclasses.dataclass(frozen=True)
class LogFilter:
    """Which lines of a task run's log to read: one attempt, a minimum level, a search text."""

    task_run_id: int
    attempt: int
    min_level: int | None = None
    search: str = ""

    def queryset(self):
        lines = TaskLog.objects.filter(task_run_id=self.task_run_id, attempt=self.attempt)
        if self.min_level:
            lines = lines.filter(level__gte=self.min_level)
        if self.search:
            lines = lines.filter(message__icontains=self.search)
        return lines

    def fetch(self, queryset, limit):
        """Return up to ``limit`` LogLines of ``queryset`` (one query)."""
        return [LogLine(*row) for row in queryset.values_list(*FIELDS)[:limit]]


@dataclasses.dataclass(frozen=True)
class LogPage:
    """A slice of the log in id order, with the cursors of its neighbour pages.

    ``older_before`` is the ``before`` of the page before it, None when no
    line precedes it; ``newer_after`` the ``after`` of the page after it,
    None when no line follows it (yet).
    """

    lines: list
    older_before: int | None
    newer_after: int | None

    @property
    def last_id(self):
        return self.lines[-1].id if self.lines else None


def read_page(log_filter, size, *, before=None, after=None):
    """Return a LogPage of at most ``size`` lines (two queries at most).

    ``after``: the lines following that id (``after=0`` is the first page);
    ``before``: the lines preceding that id; neither: the newest lines, the
    end of the log, where a running task writes.
    """
    lines = log_filter.queryset()
    if after is not None:
        found = log_filter.fetch(lines.filter(id__gt=after).order_by("id"), size + 1)
        page = found[:size]
        older_before = page[0].id if page else after + 1
        has_older = lines.filter(id__lt=older_before).exists()
        return LogPage(
            page,
            older_before=older_before if has_older else None,
            newer_after=page[-1].id if len(found) > size else None,
        )
    newest_first = lines.filter(id__lt=before) if before is not None else lines
    found = log_filter.fetch(newest_first.order_by("-id"), size + 1)
    page = found[:size][::-1]
    newer_after = None
    if before is not None:
        newer_after = page[-1].id if page else before - 1
        if not lines.filter(id__gt=newer_after).exists():
            newer_after = None
    return LogPage(page, older_before=page[0].id if len(found) > size else None, newer_after=newer_after)


def read_after(log_filter, after, limit):
    """Return (lines with an id above ``after``, up to ``limit``; whether more follow)."""
    found = log_filter.fetch(log_filter.queryset().filter(id__gt=after).order_by("id"), limit + 1)
    return found[:limit], len(found) > limit


def iter_lines(log_filter, chunk=None):
    """Yield every LogLine of the filter in id order, ``chunk`` lines per query.

    Each chunk is its own short query from the last id seen, so a long
    download holds no cursor (nor, on SQLite, a read transaction) open
    between chunks; lines a running task writes meanwhile are included up to
    the last chunk.
    """
    chunk = chunk or DOWNLOAD_CHUNK
    after = 0
    while True:
        lines, more = read_after(log_filter, after, chunk)
        yield from lines
        if not more:
            return
        after = lines[-1].id
