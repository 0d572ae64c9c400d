"""Launching a run: snapshot, task runs and the first enqueues, in one transaction."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..conf import get_setting
from ..db import sql
from ..definitions.params import check_run_params, paused_message
from ..definitions.rules import check_name
from ..exceptions import InvalidTransition
from ..models import Flow, FlowRun, RunSnapshot, TaskRun
from ..models.pools import DEFAULT_POOL
from ..states import RUN_CANCELLABLE, TaskState
from . import admission, dispatch
from .advance import start_run
from .retries import attempts_allowed
from .snapshot import take_snapshot
from .transitions import changing

# Django-Q2 calls it by dotted path (tests/engine/test_entry_points.py checks it).
START_ENTRY = "flowforge_admin.engine.launch.start_launched"

# A new task run's columns that have no database default, then its pool.
TASK_RUN_FIELDS = (
    "run",
    "task_name",
    "status",
    "attempt",
    "max_attempts",
    "lost_attempts",
    "error",
    "traceback",
    "pool",
    "pool_slots",
)


def _task_run_rows(run_id, tasks):
    """The rows of a new run's task runs, for :func:`sql.insert` (the ORM's bulk_create costs 10x more)."""
    groups = {task["parent"] for task in tasks if task["parent"]}
    rows = []
    for task in tasks:
        name = task["name"]
        # A group takes no slot: its tasks do (engine/pools.py pool_of).
        if name in groups:
            pool, slots = "", 0
        else:
            pool, slots = task.get("pool") or DEFAULT_POOL, task.get("pool_slots", 1)
        rows.append((run_id, name, str(TaskState.PENDING), 0, attempts_allowed(task), 0, "", "", pool, slots))
    return rows


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
    (queued, nothing sent) and starts when a place frees, in launch order.
    A run of more than ``FLOWFORGE_LAUNCH_INLINE_TASKS`` tasks is written
    with its task runs (all pending) and a worker starts it moments later.
    ``logical_date`` (the moment of data the run is for) defaults to
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
        sql.insert(TaskRun, TASK_RUN_FIELDS, _task_run_rows(run.pk, snapshot["tasks"]), plain=True)
        if not held:  # a held run starts when admitted (engine/admission.py)
            _start(run.pk, len(snapshot["tasks"]))
    run.refresh_from_db()
    return run


def _start(run_id, size):
    # Queueing thousands of tasks and sending their messages takes longer than a caller (a
    # web request) should wait: a worker does it. run_flow runs everything in its own process.
    if size > get_setting("FLOWFORGE_LAUNCH_INLINE_TASKS") and not dispatch.running_locally():
        dispatch.call_soon(START_ENTRY, (run_id,), name=f"flowforge start run {run_id}")
    else:
        with changing(run_id) as change:
            start_run(change)


def start_launched(run_id):
    """Start the first tasks of a run whose launch left that to a worker; nothing if it started, ended or went."""
    try:
        with changing(run_id) as change:
            # Evaluating a started run again starts nothing twice (only pending tasks start).
            if change.run.status in RUN_CANCELLABLE:
                start_run(change)
    except FlowRun.DoesNotExist:
        pass  # deleted meanwhile
