"""Launching a run: snapshot, task runs and the first enqueues, in one transaction."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..definitions.params import check_run_params, paused_message
from ..definitions.rules import check_name
from ..exceptions import InvalidTransition
from ..models import Flow, FlowRun, RunSnapshot, TaskRun
from ..states import TaskState
from .advance import start_run
from .retries import attempts_allowed
from .snapshot import take_snapshot
from .transitions import changing


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


def launch(flow, params=None, *, triggered_by=FlowRun.Trigger.CODE, user=None, schedule=None):
    """Create a run of ``flow`` with its task runs and enqueue the first ready tasks.

    Everything is written in one transaction; the enqueues go out when it
    commits. Raise ValidationError for bad parameters and InvalidTransition
    for a paused flow; then nothing is created.
    """
    flow = resolve_flow(flow)
    params = {} if params is None else params
    if flow.is_paused:
        raise InvalidTransition(paused_message(flow))
    check_run_params(flow, params)
    with transaction.atomic():
        snapshot = take_snapshot(flow)
        run = FlowRun.objects.create(
            flow=flow,
            flow_name=flow.name,
            flow_version=flow.version,
            params=params,
            triggered_by=triggered_by,
            triggered_by_user=user,
            schedule=schedule,
            pending_count=len(snapshot["tasks"]),
        )
        RunSnapshot.objects.create(run=run, data=snapshot)
        TaskRun.objects.bulk_create(
            [
                TaskRun(
                    run=run,
                    task_name=task["name"],
                    status=TaskState.PENDING,
                    max_attempts=attempts_allowed(task),
                )
                for task in snapshot["tasks"]
            ],
            batch_size=500,
        )
        with changing(run.pk) as change:
            start_run(change)
    run.refresh_from_db()
    return run
