"""Launching a run: snapshot, task runs and the first enqueues, in one transaction."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..definitions.params import check_run_params, paused_message
from ..definitions.rules import check_name
from ..exceptions import InvalidTransition
from ..models import Flow, FlowRun, RunSnapshot, TaskRun
from ..states import TaskState
from . import admission, dispatch
from .advance import start_run
from .pools import pool_of
from .retries import attempts_allowed
from .snapshot import take_snapshot
from .transitions import changing


def _task_run(run, task, pool):
    return TaskRun(
        run=run,
        task_name=task["name"],
        status=TaskState.PENDING,
        max_attempts=attempts_allowed(task),
        # A group takes no slot (pool None): its tasks do.
        pool=pool or "",
        pool_slots=task.get("pool_slots", 1) if pool else 0,
    )


def resolve_flow(flow):
    """Return the Flow for a Flow or a flow name; raise ValidationError for an unknown name."""
    if isinstance(flow, Flow):
        return flow
    if check_name(flow):
        # Not a name any flow can have (and text a database may refuse, such as NUL).
        raise ValidationError(f"there is no flow named {flow!r}", code="unknown_flow")
    try:
        return Flow.objects.get(name=flow)
    except Flow.DoesNotExist:
        raise ValidationError(f"there is no flow named {flow!r}", code="unknown_flow") from None


def checked_dates(logical_date, data_interval):
    """Return (logical date, (interval start, interval end)), aware; raise ValidationError for bad ones.

    A naive datetime is taken in the current time zone, as Django's forms do.
    """
    start, end = (None, None) if data_interval is None else data_interval
    logical_date, start, end = (
        _aware(value, what)
        for value, what in (
            (logical_date, "logical date"),
            (start, "data interval start"),
            (end, "data interval end"),
        )
    )
    if (start is None) != (end is None):
        raise ValidationError("a data interval needs both its start and its end", code="bad_interval")
    if start is not None and start > end:
        raise ValidationError("the data interval ends before it starts", code="bad_interval")
    return logical_date or timezone.now(), (start, end)


def _aware(value, what):
    if value is None:
        return None
    if not isinstance(value, datetime.datetime):
        raise ValidationError(
            f"the {what} must be a datetime, not {type(value).__name__}", code="bad_logical_date"
        )
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def launch(
    flow,
    params=None,
    *,
    triggered_by=FlowRun.Trigger.CODE,
    user=None,
    schedule=None,
    logical_date=None,
    data_interval=None,
):
    """Create a run of ``flow`` with its task runs and enqueue the first ready tasks.

    Everything is written in one transaction; the enqueues go out when it
    commits. A run over its flow's ``max_active_runs`` is created held
    (queued, nothing sent) and starts when a place frees, in launch order. ``logical_date`` (the moment of data the run is for) defaults to
    now; ``data_interval`` is an optional (start, end) pair of datetimes.
    Raise ValidationError for bad parameters or dates and InvalidTransition
    for a paused flow; then nothing is created.
    """
    flow = resolve_flow(flow)
    params = {} if params is None else params
    logical_date, (interval_start, interval_end) = checked_dates(logical_date, data_interval)
    if flow.is_paused:
        raise InvalidTransition(paused_message(flow))
    check_run_params(flow, params)
    with transaction.atomic():
        # run_flow runs its run at once, in its own process: no place to wait for.
        held = not dispatch.running_locally() and admission.must_wait(flow)
        snapshot = take_snapshot(flow)
        run = FlowRun.objects.create(
            flow=flow,
            flow_name=flow.name,
            flow_version=flow.version,
            params=params,
            triggered_by=triggered_by,
            triggered_by_user=user,
            schedule=schedule,
            logical_date=logical_date,
            data_interval_start=interval_start,
            data_interval_end=interval_end,
            pending_count=len(snapshot["tasks"]),
            held=held,
        )
        RunSnapshot.objects.create(run=run, data=snapshot)
        with changing(run.pk) as change:
            TaskRun.objects.bulk_create(
                [_task_run(run, task, pool_of(change.snapshot, task["name"])) for task in snapshot["tasks"]],
                batch_size=500,
            )
            if not held:
                start_run(change)
    run.refresh_from_db()
    return run
