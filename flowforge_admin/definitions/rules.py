"""The rules every flow definition must follow, whatever its entrance.

Pure functions over :class:`~flowforge_admin.definitions.spec.FlowSpec` data: no
request, form or queryset is seen here, so Python registration, admin forms
and import files give the same errors with the same words. Each error is a
:class:`Problem` that names the flow, the task and the offending item.
"""

import keyword
import re
from dataclasses import dataclass, replace

from ..queues import default_queue, known_queues
from ..text import bad_text
from .approvals import WORKER_KEYS, approval_problems
from .graph import FlowGraph
from .params import check_params, check_params_schema
from .sensors import sensor_problems

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
NAME_MAX_LENGTH = 100
PYTHON_KEYWORDS = frozenset(keyword.kwlist)
VERBOSE_NAME_MAX_LENGTH = 200
# Retries, delays and timeouts are PositiveIntegerFields: on PostgreSQL (the narrowest of the
# databases) they hold up to 2**31 - 1. One limit on every database, so that a definition
# exported from SQLite imports on PostgreSQL.
COUNT_MAX = 2**31 - 1


@dataclass(frozen=True)
class Problem:
    """One broken rule: where it is (flow, task, field) and what is wrong."""

    flow: str
    task: str | None
    field: str
    message: str
    code: str

    def __str__(self):
        where = f"flow {self.flow!r}"
        if self.task is not None:
            where += f", task {self.task!r}"
        return f"{where}, {self.field}: {self.message}"


def check_name(value):
    """Return what is wrong with a flow or task name, or None when it is fine."""
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if not value:
        return "a name is required"
    if len(value) > NAME_MAX_LENGTH:
        return f"{value!r} is longer than {NAME_MAX_LENGTH} characters"
    if not NAME_RE.fullmatch(value):
        return f"{value!r} may contain only letters, digits, '_' and '-' and may not start with '-'"
    return None


def check_text(value):
    """Return what makes text or JSON data unstorable (a lone surrogate, NUL), or None."""
    return bad_text(value)


def _text_problems(spec):
    """Yield (task name or None, field, message) for text that cannot be stored or shown."""
    fields = ("display_name", "description", "params", "params_schema")
    for name in fields:
        error = check_text(getattr(spec, name))
        if error:
            yield None, name, error
    for task in spec.tasks:
        for name in ("verbose_name", "params"):
            error = check_text(getattr(task, name))
            if error:
                yield task.name, name, error


def validate_flow(spec, check_function):
    """Return every :class:`Problem` of ``spec``; an empty list means valid.

    ``check_function(path)`` returns what is wrong with a task's function path
    (not allowed, not found) or None; it is given by the caller because what
    is allowed lives in the database and the settings.
    """
    problems = []

    def add(task, field, message, code):
        problems.append(Problem(spec.name, task, field, message, code))

    error = check_name(spec.name)
    if error:
        add(None, "name", error, "invalid_name")
    error = check_params(spec.params)
    if error:
        add(None, "params", error, "invalid_params")
    error = check_params_schema(spec.params_schema)
    if error:
        add(None, "params_schema", error, "invalid_params_schema")
    if spec.max_active_runs is not None and not _is_count(spec.max_active_runs, minimum=1):
        add(
            None,
            "max_active_runs",
            f"must be a whole number from 1 to {COUNT_MAX} (or empty for no limit), not {spec.max_active_runs!r}",
            "invalid_number",
        )

    by_name = {}
    for task in spec.tasks:
        if not isinstance(task.name, str):
            continue  # check_name says so
        if task.name in by_name:
            add(task.name, "name", f"{task.name!r} is used by more than one task", "duplicate_name")
        else:
            by_name.setdefault(task.name, task)

    for task in spec.tasks:
        for field, message, code in _task_field_problems(task, by_name, check_function):
            add(task.name, field, message, code)
    groups = {task.parent for task in spec.tasks}
    for task in spec.tasks:
        if task.pool and task.name in groups:
            add(task.name, "pool", "a group takes no slots: set the pool on its tasks", "pool_on_group")
        for field, message, code in _map_problems(task, task.name in groups):
            add(task.name, field, message, code)
        if task.approval is not None:
            worker_keys = [key for key in WORKER_KEYS if getattr(task, key)]
            for message in approval_problems(
                task.approval, is_group=task.name in groups, worker_keys=worker_keys
            ):
                add(task.name, "approval", message, "invalid_approval")

    # Text that cannot be stored, in a field no other rule has reported (one message per field).
    reported = {(problem.task, problem.field) for problem in problems}
    for task, field, error in _text_problems(spec):
        if (task, field) not in reported:
            add(task, field, error, "invalid_text")

    # Nesting and dependency cycles are looked for even when a field is wrong, among the
    # references that are right, so that one submission reports every error it has.
    graph_view = _graph_view(by_name)
    graph_problems = list(_graph_problems(graph_view))
    for task, field, message, code in graph_problems:
        add(task, field, message, code)
    if not graph_problems:
        for task, field, message, code in _upstream_parameter_problems(spec, graph_view):
            add(task, field, message, code)
    return problems


def _graph_view(by_name):
    """The tasks (one per name) with only the parents and dependencies that name a task."""
    tasks = []
    for name, task in by_name.items():
        parent = task.parent if isinstance(task.parent, str) and task.parent in by_name else None
        depends_on = task.depends_on if isinstance(task.depends_on, (list, tuple)) else ()
        depends_on = tuple(
            dict.fromkeys(
                dep for dep in depends_on if isinstance(dep, str) and dep in by_name and dep != name
            )
        )
        tasks.append(replace(task, parent=parent, depends_on=depends_on))
    return tasks


def _task_field_problems(task, by_name, check_function):
    """Yield (field, message, code) for the rules that concern one task alone."""
    error = check_name(task.name)
    if error:
        yield "name", error, "invalid_name"
    if task.parent is not None and (not isinstance(task.parent, str) or task.parent not in by_name):
        yield "parent", f"parent {task.parent!r} is not a task of this flow", "unknown_parent"
    if not isinstance(task.verbose_name, str):
        yield "verbose_name", "must be text", "invalid_verbose_name"
    elif len(task.verbose_name) > VERBOSE_NAME_MAX_LENGTH:
        yield (
            "verbose_name",
            f"is longer than {VERBOSE_NAME_MAX_LENGTH} characters",
            "invalid_verbose_name",
        )
    if not isinstance(task.function, str):
        yield "function", "must be a dotted path", "invalid_function"
    elif task.function:
        error = check_function(task.function)
        if error:
            yield "function", error, "function_not_allowed"
    # No function is fine: a pure group, or a no-op join point (Airflow's
    # EmptyOperator), and an editor builds a group before its children.
    error = check_params(task.params)
    if error:
        yield "params", error, "invalid_params"
    yield from _number_problems(task)
    yield from _pool_problems(task)
    yield from _queue_problems(task)
    if task.sensor is not None:  # (a scan of the flow's tasks, for sensors only)
        is_group = any(other.parent == task.name for other in by_name.values())
        for message in sensor_problems(task.sensor, has_function=bool(task.function), is_group=is_group):
            yield "sensor", message, "invalid_sensor"
    yield from _dependency_problems(task, by_name)


def _map_problems(task, is_group):
    """map_over names one of the task's own dependencies (not a transitive one: its output must be
    at hand when the task starts, and a direct dependency says so in the graph); a group is not mapped."""
    if task.map_param != "" and not (isinstance(task.map_param, str) and task.map_param.isidentifier()):
        yield "map_param", f"must be a Python identifier, not {task.map_param!r}", "invalid_map_param"
    elif task.map_param in ("context", *PYTHON_KEYWORDS):
        yield "map_param", f"{task.map_param!r} cannot name a parameter", "invalid_map_param"
    elif task.map_param and not task.map_over:
        yield "map_param", "is only used with map_over", "map_param_without_map_over"
    if task.map_over == "":
        return
    if not isinstance(task.map_over, str):
        yield "map_over", f"must be a task name, not {task.map_over!r}", "invalid_map_over"
    elif is_group:
        yield "map_over", "a group cannot be mapped: map one of its tasks", "map_over_on_group"
    elif not isinstance(task.depends_on, (list, tuple)) or task.map_over not in task.depends_on:
        yield (
            "map_over",
            f"{task.map_over!r} is not an upstream task of {task.name!r}: "
            "map over one of the tasks in its depends_on",
            "map_over_not_upstream",
        )


def _is_count(value, minimum=0):
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= COUNT_MAX


def _number_problems(task):
    if not _is_count(task.retries):
        yield (
            "retries",
            f"must be a whole number from 0 to {COUNT_MAX}, not {task.retries!r}",
            "invalid_number",
        )
    if not _is_count(task.retry_delay):
        yield (
            "retry_delay",
            f"must be a whole number of seconds from 0 to {COUNT_MAX}, not {task.retry_delay!r}",
            "invalid_number",
        )
    if task.timeout is not None and not _is_count(task.timeout, minimum=1):
        yield (
            "timeout",
            f"must be a whole number of seconds from 1 to {COUNT_MAX} (or empty), not {task.timeout!r}",
            "invalid_number",
        )


def _pool_problems(task):
    if task.pool != "":
        error = check_name(task.pool)
        if error:
            yield "pool", f"is not a pool name: {error}", "invalid_pool"
    if not _is_count(task.pool_slots, minimum=1):
        yield (
            "pool_slots",
            f"must be a whole number from 1 to {COUNT_MAX}, not {task.pool_slots!r}",
            "invalid_number",
        )


def _queue_problems(task):
    """The queue is empty (the project's cluster) or a cluster name; a known one when FLOWFORGE_QUEUES lists them."""
    if isinstance(task.queue, str) and not task.queue:
        return
    # A cluster name is a Redis key's part and the ORM broker's key: the rules of names.
    error = check_name(task.queue)
    if error:
        yield "queue", f"must be a Django-Q2 cluster name: {error}", "invalid_queue"
        return
    known = known_queues()
    if known is not None and task.queue not in known and task.queue != default_queue():
        yield (
            "queue",
            f"{task.queue!r} is not a known queue: FLOWFORGE_QUEUES lists {', '.join(known)} "
            f"(and the project's own cluster is {default_queue()})",
            "unknown_queue",
        )


def _dependency_problems(task, by_name):
    if not isinstance(task.depends_on, (list, tuple)) or not all(
        isinstance(name, str) for name in task.depends_on
    ):
        yield "depends_on", "must be a list of task names", "invalid_depends_on"
        return
    seen = set()
    for name in task.depends_on:
        if name == task.name:
            yield "depends_on", "a task cannot depend on itself", "self_dependency"
        elif name not in by_name:
            yield (
                "depends_on",
                f"{name!r} is not a task of this flow",
                "unknown_dependency",
            )
        elif name in seen:
            yield "depends_on", f"{name!r} is listed twice", "duplicate_dependency"
        seen.add(name)


def _graph_problems(tasks):
    """Yield (task, field, message, code) for nesting and dependency cycles.

    Nesting cycles first, with the graph's guarded walk: every other
    question the graph answers assumes a tree.
    """
    graph = FlowGraph.from_tasks(tasks)
    found = graph.nesting_cycle()
    if found:
        name, path = found
        yield name, "parent", "nesting cycle: " + " -> ".join(path), "nesting_cycle"
        return
    for task in tasks:
        for name in task.depends_on:
            if graph.is_ancestor(name, task.name):
                yield (
                    task.name,
                    "depends_on",
                    f"cycle: {task.name} -> {name} -> {task.name} "
                    f"({task.name!r} is nested in {name!r}, which waits for it)",
                    "cycle",
                )
                return
            if graph.is_ancestor(task.name, name):
                yield (
                    task.name,
                    "depends_on",
                    f"cycle: {name} -> {task.name} -> {name} "
                    f"({name!r} is nested in {task.name!r}, which waits for it)",
                    "cycle",
                )
                return
    path = graph.find_cycle()
    if path:
        yield path[0], "depends_on", "cycle: " + " -> ".join(path), "cycle"


def _upstream_parameter_problems(spec, tasks):
    """Yield (task, field, message, code) for a parameter named after a task the task waits for.

    A task function's parameter named after an upstream task receives that
    task's output: a parameter of the same name would be ambiguous.
    """
    graph = FlowGraph.from_tasks(tasks)
    flow_params = set(spec.params) if isinstance(spec.params, dict) else set()
    schema = spec.params_schema if isinstance(spec.params_schema, dict) else {}
    if isinstance(schema.get("properties"), dict):
        flow_params |= set(schema["properties"])
    for task in tasks:
        own = set(task.params) if isinstance(task.params, dict) else set()
        for name in [*graph.upstream(task.name), *graph.children[task.name]]:
            if name in flow_params or name in own:
                yield (
                    task.name,
                    "params",
                    f"{name!r} is both a parameter and an upstream task of {task.name!r}: a function "
                    f"parameter named {name!r} receives that task's output; rename the parameter or the task",
                    "parameter_named_after_upstream",
                )


def find_cycle(tasks):
    """Return the task names of a dependency cycle of ``tasks``, first name repeated last, or None.

    See :meth:`FlowGraph.find_cycle` for how groups take part.
    """
    return FlowGraph.from_tasks(tasks).find_cycle()
