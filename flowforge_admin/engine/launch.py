"""Launching a run: snapshot, task runs and the first enqueues, in one transaction."""

from django.core.exceptions import ValidationError
from django.db import transaction
from referencing.exceptions import Unresolvable

from ..exceptions import InvalidTransition
from ..models import Flow, FlowRun, RunSnapshot, TaskRun
from ..schemas import UnusableSchema, validator_for
from ..states import TaskState
from ..validation import check_name, check_params, json_value_problem
from .advance import start_run
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


def paused_message(flow):
    """Why ``flow`` cannot be launched now, or None: the one wording of the launch refusal."""
    if flow.is_paused:
        return f"flow {flow.name!r} is paused: resume it before launching a run"
    return None


def check_run_params(flow, params):
    """Raise ValidationError naming the parameter when ``params`` do not suit ``flow``.

    ``flow`` is a Flow or anything with its ``params`` and ``params_schema``
    (an import file checks a schedule against the flow it is about to write).
    """
    problem = json_value_problem(params) if isinstance(params, dict) else None
    if problem and problem[0]:
        # Named as jsonschema's messages are, so that the launch form shows it at its field.
        path = ".".join(str(part) for part in problem[0])
        raise ValidationError(f"params.{path}: {problem[1]}", code="invalid_params")
    error = check_params(params)
    if error:
        raise ValidationError(f"params: {error}", code="invalid_params")
    if flow.params_schema:
        merged = {**(flow.params or {}), **params}
        try:
            errors = sorted(validator_for(flow.params_schema).iter_errors(merged), key=lambda e: list(e.path))
        except (UnusableSchema, Unresolvable, RecursionError) as error:
            # Saved before schemas were checked whole: refuse the launch, say where to fix it.
            raise ValidationError(
                f"the parameters schema of flow {flow.name!r} cannot be used ({error}): "
                "correct it in the flow's settings",
                code="params_schema",
            ) from None
        if errors:
            raise ValidationError([_schema_message(error) for error in errors], code="params_schema")


def _schema_message(error):
    where = ".".join(str(part) for part in error.path)
    return f"params{'.' + where if where else ''}: {error.message}"


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
                    max_attempts=task["retries"] + 1,
                )
                for task in snapshot["tasks"]
            ],
            batch_size=500,
        )
        with changing(run.pk) as change:
            start_run(change)
    run.refresh_from_db()
    return run
