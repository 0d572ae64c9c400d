"""The public Python API of Flow Forge.

Flow authors register flows in code, in the form the predecessor project
used::

    register_task_pipeline(
        flow_name="pipeline_simple_ml",
        clear_existing_flow_in_db=True,
        pipeline={
            "fetch_data": {"function": fetch_data, "depends_on": []},
            "clean_data": {"function": clean_data, "depends_on": ["fetch_data"]},
        },
    )

Each function here is thin: it builds one action (:mod:`flowforge_admin.actions`)
and executes it, or reads a definition (:mod:`flowforge_admin.definitions`).
``user=`` is the person on whose behalf the change is made: their permission
is checked (``PermissionDenied``) and the change is written to Django's admin
log in their name, as when they press the admin's button. Without a user the
caller is trusted code: nothing is checked, and a run still records the
change in its own history (RunEvent).
"""

from django.db import transaction

from .actions.definitions import SaveDefinitionAction
from .actions.runs import (
    CancelRunAction,
    ClearTasksAction,
    LaunchFlowAction,
    MarkTaskAction,
    RerunFailedAction,
    RetryTaskAction,
)
from .definitions.alert_store import replace_code_alerts
from .definitions.alerts import read_alerts
from .definitions.pipeline import claim, read_pipeline
from .engine.local import run_in_process
from .models import Flow

__all__ = [
    "cancel_run",
    "clear_tasks",
    "launch_flow",
    "mark_task",
    "register_task_pipeline",
    "rerun_failed",
    "retry_task",
    "run_flow",
]


def register_task_pipeline(
    flow_name,
    pipeline,
    clear_existing_flow_in_db=False,
    *,
    display_name=None,
    description=None,
    params=None,
    params_schema=None,
    max_active_runs=None,
    alerts=None,
    user=None,
):
    """Validate ``pipeline`` and store it as the flow ``flow_name``; return the Flow.

    ``pipeline`` maps task names to dicts with the keys ``function`` (a
    module-level callable, or the dotted path of an allowed one),
    ``depends_on`` (task names), ``verbose_name``, ``nested_tasks`` (the same
    form again: the tasks of this group), ``params`` (default parameters),
    ``retries``, ``retry_delay`` and ``timeout`` (seconds), ``pool`` (the
    pool whose slots it takes; created unlimited if new), ``pool_slots`` and
    ``queue`` (the Django-Q2 cluster that runs it; empty: the project's own),
    ``sensor`` (``{"interval": s, "timeout": s, "on_timeout": "fail" | "skip"}``:
    the function is checked until it returns a true value; see
    :mod:`flowforge_admin.definitions.sensors`), ``map_over`` and
    ``map_param`` (one run per item of an upstream task's list), and
    ``approval`` (``{"group": name, "params_schema": {...}, "timeout": s}``: a
    step a person approves or rejects; see
    :mod:`flowforge_admin.definitions.approvals`).
    ``max_active_runs`` limits how many runs of the flow are active at once
    (None: no limit); more wait, queued, and start in launch order.
    ``alerts`` lists the flow's alerts, each a dict: ``on`` (events:
    ``run_failed``, ``run_succeeded``, ``task_retrying``, ``task_waiting``, ``sla_missed`` with
    ``sla_seconds``, ``schedule_skipped``), and one channel: ``email``
    (addresses) with ``users`` and ``groups`` (names), ``webhook`` (URL) with
    ``secret`` and ``text``, or ``callable`` (an allowed function); optional
    ``name`` and ``enabled``. They replace the alerts the flow's last
    registration defined (those made in the admin stay).

    Everything is written in one transaction. Registering the same definition
    again changes nothing and keeps the version; a changed one updates the
    flow in place (tasks gone from ``pipeline`` are removed), or rebuilds it
    from scratch with ``clear_existing_flow_in_db``.

    Raise :class:`FlowDefinitionError` (a ``ValueError``) naming the flow,
    the task and the offending item when anything is wrong; then nothing is
    written. Any other task key is refused: one django-flow-forge had
    (``depends_bidirectionally_with``) with a pointer to the migration guide.

    With a ``user``, it needs ``add_flow`` (a new flow) or ``change_flow``,
    and a created or changed flow is recorded in the admin log.
    """
    claim(flow_name)
    spec, functions = read_pipeline(
        flow_name,
        pipeline,
        display_name=display_name,
        description=description,
        params=params,
        params_schema=params_schema,
        max_active_runs=max_active_runs,
    )
    alert_specs = read_alerts(flow_name, alerts)  # checked before anything is written
    action = SaveDefinitionAction(
        spec, functions=functions, origin=Flow.Origin.CODE, clear=clear_existing_flow_in_db, user=user
    )
    with transaction.atomic():
        flow, _ = action.execute()
        replace_code_alerts(flow, alert_specs)
    return flow


def launch_flow(flow, params=None, *, triggered_by=None, logical_date=None, data_interval=None):
    """Start a run of ``flow`` (a Flow or its name) on the workers; return the queued FlowRun.

    Returns at once. ``params`` override the flow's and the tasks' default
    parameters. Bad parameters (or an unknown flow) raise
    ``django.core.exceptions.ValidationError``, a paused flow raises
    :class:`~flowforge_admin.exceptions.InvalidTransition`; then nothing is created.
    ``triggered_by`` is the user launching it (who needs ``launch_flow``), or
    None for code. ``logical_date`` is the moment of data the run is for
    (default: now) and ``data_interval`` an optional (start, end) pair;
    tasks read them from their context.
    """
    action = LaunchFlowAction(
        flow, params, user=triggered_by, logical_date=logical_date, data_interval=data_interval
    )
    return action.execute()


def run_flow(flow, params=None, *, user=None, logical_date=None, data_interval=None):
    """Run the whole flow in this process with the same engine code; return the finished run.

    For scripts, notebooks and debugging: no worker is needed. Task failures
    are recorded in the run, not raised. The launch is checked and recorded as
    :func:`launch_flow`'s is (``user`` needs ``launch_flow``).
    """
    action = LaunchFlowAction(
        flow,
        params,
        user=user,
        how="Run in this process from code",
        logical_date=logical_date,
        data_interval=data_interval,
    )
    return run_in_process(action.execute)


def cancel_run(run, *, user=None):
    """Cancel a queued or running run; raise InvalidTransition for a finished one."""
    return CancelRunAction(run, user=user).execute()


def rerun_failed(run, *, user=None):
    """Run again the failed, upstream-failed and cancelled tasks of a finished run."""
    return RerunFailedAction(run, user=user).execute()


def retry_task(task_run, *, user=None):
    """Run a failed, upstream-failed or cancelled task again, with what waits for it."""
    return RetryTaskAction(task_run, user=user).execute()


def mark_task(task_run, status, reason, *, user=None):
    """Set a task's outcome by hand: ``"succeeded"`` or ``"failed"``, with a reason."""
    return MarkTaskAction(task_run, status, reason, user=user).execute()


def clear_tasks(run, task_names, downstream=True, *, user=None):
    """Run the named tasks again as new attempts, and by default everything downstream of them.

    Airflow's "clear": the named tasks (a group: all its tasks), the tasks
    that wait for them unless ``downstream`` is False, and the groups
    containing them go back to pending whatever their status, and start as
    their upstream allows; a finished run (cancelled too) runs again. A name
    the run does not have, or anything but a non-empty list of names, raises
    ``django.core.exceptions.ValidationError`` saying so, and nothing changes.
    """
    return ClearTasksAction(run, task_names, downstream=downstream, user=user).execute()
