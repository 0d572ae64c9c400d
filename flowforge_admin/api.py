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
"""

import contextlib
import contextvars
import difflib

from django.db import transaction

from .definitions import registry, store
from .definitions.rules import Problem, validate_flow
from .definitions.spec import MIGRATION_GUIDE, PIPELINE_TASK_KEYS, PREDECESSOR_TASK_KEYS, FlowSpec, TaskSpec
from .engine import control
from .engine.launch import launch
from .engine.local import run_in_process
from .exceptions import FlowDefinitionError
from .models import Flow, FlowRun

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


# While ``sync_flows`` imports the flows modules: the module being imported and,
# for each flow name registered so far, the module that registered it.
_sync = contextvars.ContextVar("flowforge_sync", default=None)


@contextlib.contextmanager
def owned_by(module, owners):
    """Within this block, flows registered belong to ``module``; ``owners`` maps names to modules.

    ``sync_flows`` wraps each ``flows`` module's import in it, so that a name
    already registered by another module is refused: two modules writing one
    flow in turn would overwrite each other at every sync.
    """
    token = _sync.set((module, owners))
    try:
        yield
    finally:
        _sync.reset(token)


def _claim(flow_name):
    """Refuse ``flow_name`` when another flows module registered it in this sync."""
    current = _sync.get()
    if current is None:
        return
    module, owners = current
    owner = owners.setdefault(flow_name, module)
    if owner != module:
        message = (
            f"is registered by two flows modules, {owner} and {module}: a flow name has one owner, "
            "so rename the flow in one of them"
        )
        raise FlowDefinitionError([Problem(str(flow_name), None, "flow_name", message, "duplicate_flow")])


def register_task_pipeline(
    flow_name,
    pipeline,
    clear_existing_flow_in_db=False,
    *,
    display_name=None,
    description=None,
    params=None,
    params_schema=None,
):
    """Validate ``pipeline`` and store it as the flow ``flow_name``; return the Flow.

    ``pipeline`` maps task names to dicts with the keys ``function`` (a
    module-level callable, or the dotted path of an allowed one),
    ``depends_on`` (task names), ``verbose_name``, ``nested_tasks`` (the same
    form again: the tasks of this group), ``params`` (default parameters),
    ``retries``, ``retry_delay`` and ``timeout`` (seconds).

    Everything is written in one transaction. Registering the same definition
    again changes nothing and keeps the version; a changed one updates the
    flow in place (tasks gone from ``pipeline`` are removed), or rebuilds it
    from scratch with ``clear_existing_flow_in_db``.

    Raise :class:`FlowDefinitionError` (a ``ValueError``) naming the flow,
    the task and the offending item when anything is wrong; then nothing is
    written. Any other task key is refused: one django-flow-forge had
    (``depends_bidirectionally_with``) with a pointer to the migration guide.
    """
    _claim(flow_name)
    problems = []
    functions = {}
    tasks = _parse_pipeline(flow_name, pipeline, None, functions, problems)
    spec = FlowSpec(
        name=flow_name,
        tasks=tuple(tasks),
        display_name=display_name if display_name is not None else str(flow_name),
        description=description or "",
        params=params if params is not None else {},
        params_schema=params_schema,
    )
    paths = {task.function for task in tasks if isinstance(task.function, str) and task.function}
    # Report every problem at once, but only one per task and field: a function
    # that could not be named is not also "missing".
    reported = {(problem.task, problem.field) for problem in problems}
    problems += [
        problem
        for problem in validate_flow(spec, registry.function_checker(functions, paths=paths))
        if (problem.task, problem.field) not in reported
    ]
    if problems:
        raise FlowDefinitionError(problems)
    with transaction.atomic():
        registry.remember(functions)
        flow, _ = store.write_flow(spec, origin=Flow.Origin.CODE, clear=clear_existing_flow_in_db)
    return flow


def _parse_pipeline(flow_name, pipeline, parent, functions, problems):
    """Turn the predecessor's nested dict form into TaskSpecs, parents first."""
    if not isinstance(pipeline, dict):
        where = "pipeline" if parent is None else "nested_tasks"
        problems.append(
            Problem(flow_name, parent, where, "must be a dict of task name: task", "invalid_pipeline")
        )
        return []
    tasks = []
    for name, entry in pipeline.items():
        if not isinstance(entry, dict):
            problems.append(
                Problem(
                    flow_name, name, "definition", "must be a dict such as {'function': f}", "invalid_task"
                )
            )
            continue
        problems.extend(_key_problems(flow_name, name, entry))
        depends_on = entry.get("depends_on") or ()
        tasks.append(
            TaskSpec(
                name=name,
                parent=parent,
                function=_function_path(flow_name, name, entry.get("function"), functions, problems),
                verbose_name=entry.get("verbose_name") or "",
                params=entry.get("params") if entry.get("params") is not None else {},
                retries=entry.get("retries", 0),
                retry_delay=entry.get("retry_delay", 0),
                timeout=entry.get("timeout"),
                depends_on=tuple(depends_on) if isinstance(depends_on, (list, tuple)) else depends_on,
            )
        )
        if entry.get("nested_tasks"):
            tasks.extend(_parse_pipeline(flow_name, entry["nested_tasks"], name, functions, problems))
    return tasks


def _key_problems(flow_name, task_name, entry):
    """Yield a Problem for each key of a task that is not one of PIPELINE_TASK_KEYS.

    A key of the predecessor gets its replacement and the migration guide; any
    other (a typo, or a key of a later release) gets the keys there are.
    """
    for key in sorted(set(entry) - PIPELINE_TASK_KEYS, key=str):
        if key in PREDECESSOR_TASK_KEYS:
            message = (
                f"a django-flow-forge key that Flow Forge does not have: {PREDECESSOR_TASK_KEYS[key]} "
                f"(see {MIGRATION_GUIDE})"
            )
            yield Problem(flow_name, task_name, key, message, "predecessor_key")
            continue
        message = f"unknown key; expected one of {', '.join(sorted(PIPELINE_TASK_KEYS))}"
        close = difflib.get_close_matches(str(key), PIPELINE_TASK_KEYS, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        yield Problem(flow_name, task_name, str(key), message, "unknown_key")


def _function_path(flow_name, task_name, function, functions, problems):
    """Return the dotted path of a task's function; remember callables given directly."""
    if function is None or function == "":
        return ""
    if isinstance(function, str):
        return function
    try:
        path = registry.function_path(function)
    except ValueError as error:
        problems.append(Problem(flow_name, task_name, "function", str(error), "function_not_importable"))
        return ""
    functions[path] = function
    return path


def _trigger(triggered_by):
    """Return (trigger kind, user) for ``triggered_by``: None (code) or a user."""
    if triggered_by is None:
        return FlowRun.Trigger.CODE, None
    if getattr(triggered_by, "is_authenticated", False):
        return FlowRun.Trigger.USER, triggered_by
    raise TypeError(f"triggered_by must be a user or None, not {triggered_by!r}")


def launch_flow(flow, params=None, *, triggered_by=None):
    """Start a run of ``flow`` (a Flow or its name) on the workers; return the queued FlowRun.

    Returns at once. ``params`` override the flow's and the tasks' default
    parameters. Bad parameters (or an unknown flow) raise
    ``django.core.exceptions.ValidationError``, a paused flow raises
    :class:`~flowforge_admin.exceptions.InvalidTransition`; then nothing is created.
    """
    trigger, user = _trigger(triggered_by)
    return launch(flow, params, triggered_by=trigger, user=user)


def run_flow(flow, params=None):
    """Run the whole flow in this process with the same engine code; return the finished run.

    For scripts, notebooks and debugging: no worker is needed. Task failures
    are recorded in the run, not raised.
    """
    return run_in_process(flow, params)


def cancel_run(run):
    """Cancel a queued or running run; raise InvalidTransition for a finished one."""
    return control.cancel(run)


def rerun_failed(run):
    """Run again the failed, upstream-failed and cancelled tasks of a finished run."""
    return control.rerun_failed(run)


def retry_task(task_run):
    """Run a failed, upstream-failed or cancelled task again, with what waits for it."""
    return control.retry_task(task_run)


def mark_task(task_run, status, reason):
    """Set a task's outcome by hand: ``"succeeded"`` or ``"failed"``, with a reason."""
    return control.mark_task(task_run, status, reason)


def clear_tasks(run, task_names, downstream=True):
    """Run the named tasks again as new attempts, and by default everything downstream of them.

    Airflow's "clear": the named tasks (a group: all its tasks), the tasks
    that wait for them unless ``downstream`` is False, and the groups
    containing them go back to pending whatever their status, and start as
    their upstream allows; a finished run (cancelled too) runs again. A name
    the run does not have, or anything but a non-empty list of names, raises
    ``django.core.exceptions.ValidationError`` saying so, and nothing changes.
    """
    return control.clear_tasks(run, task_names, downstream=downstream)
