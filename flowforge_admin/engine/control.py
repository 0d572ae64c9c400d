"""State changes asked for by people or code: cancel a run, re-run its failed part."""

from django.db.models import F

from ..exceptions import InvalidTransition
from ..models import TaskRun
from ..states import RUN_CANCELLABLE, TASK_ACTIVE, TASK_RERUNNABLE, RunState, TaskState
from .advance import start_run
from .transitions import changing


def cancel(run):
    """Cancel a queued or running run.

    Pending, queued and retrying tasks will not start; running ones are
    marked cancelled at once and whatever their worker returns later is
    discarded (a worker cannot be interrupted safely mid-function).
    """
    with changing(run.pk) as change:
        if change.run.status not in RUN_CANCELLABLE:
            raise InvalidTransition(
                f"run {run.pk} is {change.run.status}: only queued or running runs can be cancelled"
            )
        names = change.snapshot.names
        change.load(names)
        active = [name for name in names if change.status(name) in TASK_ACTIVE]
        change.move_all(active, TaskState.CANCELLED, finished_at=change.now, next_attempt_at=None)
        change.set_run_status(RunState.CANCELLED, finished_at=change.now)
    run.refresh_from_db()
    return run


def rerun_failed(run):
    """Run again the failed, upstream-failed and cancelled tasks of a finished run.

    Succeeded tasks keep their outputs and are not run again; the others (and
    the groups around them) go back to pending and start as their upstream
    allows, each as a new attempt.
    """
    with changing(run.pk) as change:
        if change.run.status not in (RunState.FAILED, RunState.CANCELLED):
            raise InvalidTransition(
                f"run {run.pk} is {change.run.status}: only failed or cancelled runs can be re-run"
            )
        snapshot = change.snapshot
        change.load(snapshot.names)
        again = {name for name in snapshot.names if change.status(name) in TASK_RERUNNABLE}
        for name in list(again):
            again.update(
                ancestor
                for ancestor in snapshot.ancestors(name)
                if change.status(ancestor) != TaskState.SUCCEEDED
            )
        ordered = [name for name in snapshot.names if name in again]
        change.move_all(
            ordered,
            TaskState.PENDING,
            finished_at=None,
            started_at=None,
            heartbeat_at=None,
            error="",
            traceback="",
            output=None,
        )
        _renew_retries(change, ordered)
        change.set_run_status(RunState.QUEUED, finished_at=None)
        start_run(change)
    run.refresh_from_db()
    return run


def _renew_retries(change, names):
    """Give each task run of a re-run its full number of retries again."""
    by_retries = {}
    for name in names:
        by_retries.setdefault(change.snapshot.tasks[name]["retries"], []).append(name)
    for retries, group in by_retries.items():
        TaskRun.objects.filter(run=change.run, task_name__in=group).update(
            max_attempts=F("attempt") - F("lost_attempts") + retries + 1
        )
