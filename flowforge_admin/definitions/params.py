"""The rules for parameter values: a flow's, a task's, a schedule's and a run's.

Pure functions, like :mod:`.rules`: a value is checked as JSON that every
supported database can store (within the size and depth limits), and a run's
parameters against its flow's JSON Schema. The launch form, the schedule form,
import files and the engine's launch all call :func:`check_run_params`, so
they refuse the same values with the same words.
"""

import json
import math

from django.core.exceptions import ValidationError
from referencing.exceptions import Unresolvable

from ..conf import get_setting
from ..text import UNSTORABLE_RE
from .schemas import UnusableSchema, schema_problem, validator_for


def check_params(value):
    """Return what is wrong with parameters (a flow's, a task's, a schedule's or a run's), or None."""
    if not isinstance(value, dict):
        return f"must be a JSON object (a dict of name: value), not {type(value).__name__}"
    bad = [key for key in value if not isinstance(key, str) or not key.isidentifier()]
    if bad:
        return f"parameter names must be Python identifiers: {bad[0]!r} is not"
    problem = json_value_problem(value)
    if problem:
        path, message = problem
        return f"{_path_text(path)}: {message}" if path else message
    return None


def check_params_schema(value):
    """Return what is wrong with a JSON Schema for the parameters, or None.

    Beyond the meta-schema, the schema is checked as it will be used: every
    reference resolves (without fetching anything), none loops, and every
    regular expression compiles in RE2 (see :mod:`flowforge_admin.definitions.schemas`).
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        return "must be a JSON Schema object"
    problem = json_value_problem(value)
    if problem:
        path, message = problem
        return f"{_path_text(path)}: {message}" if path else message
    return schema_problem(value)


def _path_text(path):
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _node_problem(value):
    """What makes one JSON node unstorable (not its children), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        spelling = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
        return (
            f"{spelling} is not a number JSON can hold (NaN, Infinity and numbers too large "
            "for a float, such as 1e400, are refused)"
        )
    if isinstance(value, str) and UNSTORABLE_RE.search(value):
        return "text with a NUL character or a lone surrogate (such as \\ud800) cannot be stored"
    if value is not None and not isinstance(value, (bool, int, float, str, list, dict)):
        return f"a {type(value).__name__} is not a JSON value"
    return None


def json_value_problem(value):
    """Return ``(path, message)`` for what keeps ``value`` from being stored as JSON, or None.

    ``path`` is a tuple of the keys and indexes leading to the offending part.

    Refuses NaN and infinities, which JSON has no words for (PostgreSQL's jsonb refuses them
    and browsers cannot read them back); text that cannot be stored; and values larger or
    deeper than ``FLOWFORGE_MAX_PARAMS_BYTES`` / ``FLOWFORGE_MAX_PARAMS_DEPTH``. Walks with a
    list, not recursion, so that a value nested thousands deep is refused, not a RecursionError.
    """
    max_depth = get_setting("FLOWFORGE_MAX_PARAMS_DEPTH")
    stack = [((), value)]
    while stack:
        path, node = stack.pop()
        if len(path) > max_depth:
            # Named by its top-level key: the full path would be as long as the limit.
            return path[:1], f"nested deeper than {max_depth} levels"
        message = _node_problem(node)
        if message:
            return path, message
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str) or UNSTORABLE_RE.search(key):
                    return path, f"the key {key!r} is not text that can be stored"
                stack.append(((*path, key), item))
        elif isinstance(node, list):
            stack.extend(((*path, index), item) for index, item in enumerate(node))
    return _size_problem(value)


def _size_problem(value):
    limit = get_setting("FLOWFORGE_MAX_PARAMS_BYTES")
    try:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    except ValueError:  # an integer of more than 4300 digits (Python's conversion limit)
        return (), "holds an integer with too many digits"
    if size > limit:
        return (), f"is {size} bytes as JSON, more than the limit of {limit} bytes"
    return None


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
