"""What one attempt of a task run left behind: its status, times, error and output.

The current attempt's outcome is on the task run itself; an attempt that a
later one replaced (a retry, a re-run, a mark, a clear) was recorded as a
TaskAttempt, its artifact with it (engine/attempts.py). The log page shows
either the same way, and the output views serve either's file or JSON when
asked for ``?attempt=N``.
"""

from dataclasses import dataclass

from django.http import Http404
from django.utils.translation import gettext as _

from ..models import TaskAttempt, TaskRun
from .outputs import summarize, summarize_attempt


@dataclass
class AttemptOutcome:
    """One attempt of a task run as the log page shows it."""

    attempt: int
    status: str
    started_at: object
    finished_at: object
    error: str
    traceback: str
    output: object  # OutputSummary or None
    recorded: bool  # replaced by a later attempt (read from its TaskAttempt)

    @property
    def duration_seconds(self):
        if self.started_at is None or self.finished_at is None:
            return None
        return max((self.finished_at - self.started_at).total_seconds(), 0.0)


def attempt_outcome(task_run, attempt):
    """Return the AttemptOutcome of ``attempt`` of ``task_run``, or None when nothing of it is kept.

    None before the first attempt, and for an attempt replaced before
    attempts were recorded. One query for a recorded attempt, two for the
    current one (whose output and traceback the log page's queryset leaves out).
    """
    if attempt < 1:
        return None
    record = TaskAttempt.objects.select_related("artifact").filter(task_run=task_run, attempt=attempt).first()
    if record is not None:
        return AttemptOutcome(
            attempt=attempt,
            status=record.status,
            started_at=record.started_at,
            finished_at=record.finished_at,
            error=record.error,
            traceback=record.traceback,
            output=summarize_attempt(record, task_run.run_id),
            recorded=True,
        )
    if attempt != task_run.attempt:
        return None
    current = TaskRun.objects.select_related("artifact").get(pk=task_run.pk)
    # While it is not finished, the error on the task run may be the failed
    # attempt's before it (a retry keeps it in view): it is not this one's.
    finished = current.is_finished
    return AttemptOutcome(
        attempt=attempt,
        status=current.status,
        started_at=None,
        finished_at=current.finished_at if finished else None,
        error=current.error if finished else "",
        traceback=current.traceback if finished else "",
        output=summarize(current),
        recorded=False,
    )


def attempt_statuses(task_run):
    """Return {attempt: status} of the task run's recorded attempts, and its current one (one query)."""
    statuses = dict(TaskAttempt.objects.filter(task_run=task_run).values_list("attempt", "status"))
    if task_run.attempt >= 1:
        statuses.setdefault(task_run.attempt, task_run.status)
    return statuses


def output_owner(task_run, asked):
    """Return what holds the output of attempt ``asked`` (a query value) of ``task_run``: the task run or a TaskAttempt.

    ``asked`` empty or None: the task run (its current attempt). Raise
    Http404, with a message naming the task and the attempt, for an attempt
    that is not a number, or that the task run never had.
    """
    if asked in (None, ""):
        return task_run
    try:
        attempt = int(asked)
    except ValueError:
        attempt = 0
    if attempt < 1 or attempt > task_run.attempt:
        raise Http404(
            _("Task %(task)s has no attempt “%(attempt)s” (attempts 1 to %(last)s).")
            % {"task": task_run.task_name, "attempt": asked, "last": task_run.attempt}
        )
    record = TaskAttempt.objects.select_related("artifact").filter(task_run=task_run, attempt=attempt).first()
    if record is not None:
        return record
    if attempt == task_run.attempt:
        return task_run
    raise Http404(
        _("The outcome of attempt %(attempt)s of task %(task)s was not kept.")
        % {"task": task_run.task_name, "attempt": attempt}
    )
