"""``register_task_pipeline``'s dict form (the predecessor's) read into a checked FlowSpec.

:func:`read_pipeline` turns the nested ``{task name: {"function": f, ...}}``
dict into a :class:`~flowforge_admin.definitions.spec.FlowSpec` and the task
functions given as callables, and checks it with the one set of rules
(:func:`~flowforge_admin.definitions.rules.validate_flow`); every problem is
reported at once, in a :class:`~flowforge_admin.exceptions.FlowDefinitionError`.
It writes nothing: :class:`flowforge_admin.actions.definitions.SaveDefinitionAction`
stores the result.

:func:`owned_by` and :func:`claim` keep one owner per flow name while
``sync_flows`` imports the ``flows`` modules.
"""

import contextlib
import contextvars
import difflib

from ..exceptions import FlowDefinitionError
from . import registry
from .rules import Problem, validate_flow
from .spec import MIGRATION_GUIDE, PIPELINE_TASK_KEYS, PREDECESSOR_TASK_KEYS, FlowSpec, TaskSpec

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


def claim(flow_name):
    """Raise FlowDefinitionError when another flows module registered ``flow_name`` in this sync."""
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


def read_pipeline(
    flow_name,
    pipeline,
    *,
    display_name=None,
    description=None,
    params=None,
    params_schema=None,
    max_active_runs=None,
):
    """Return ``(spec, functions)`` for a pipeline dict: the FlowSpec and ``{dotted path: callable}``.

    Raise :class:`FlowDefinitionError` listing every problem (one per task
    and field: a function that could not be named is not also "missing").
    """
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
        max_active_runs=max_active_runs,
    )
    paths = {task.function for task in tasks if isinstance(task.function, str) and task.function}
    reported = {(problem.task, problem.field) for problem in problems}
    problems += [
        problem
        for problem in validate_flow(spec, registry.function_checker(functions, paths=paths))
        if (problem.task, problem.field) not in reported
    ]
    if problems:
        raise FlowDefinitionError(problems)
    return spec, functions


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
                pool=entry.get("pool") or "",
                pool_slots=entry.get("pool_slots", 1),
                queue="" if entry.get("queue") is None else entry["queue"],
                sensor=entry.get("sensor"),
                map_over="" if entry.get("map_over") is None else entry["map_over"],
                approval=entry.get("approval"),
                map_param="" if entry.get("map_param") is None else entry["map_param"],
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
