"""Which functions a task may run, and how they are named.

A task refers to its function by dotted path, because workers import it by
that path. A path is allowed when the function was registered from code
(:func:`flowforge_admin.api.register_task_pipeline` stores it in the
database, so web servers and workers know it without importing any ``flows``
module) or when it lives under a module listed in
``FLOWFORGE_FUNCTION_MODULES``. Any other path is refused before anything is
imported: import files and admin forms must not be a way to run arbitrary code.
"""

import importlib
import inspect
import re

from ..conf import get_setting
from ..models import TaskFunction

DOTTED_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def function_path(func):
    """Return the dotted path a worker will import ``func`` by.

    Raise ``ValueError`` with a message saying why when ``func`` cannot be
    found again by that path (a lambda, a nested function, ``__main__``).
    """
    if not callable(func):
        raise ValueError(f"{func!r} is not callable")
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname:
        raise ValueError(f"{func!r} has no module or name to import it by")
    if module == "__main__":
        raise ValueError(
            f"{qualname!r} is defined in __main__; workers import task functions "
            "by dotted path, so define it in a module (for example tasks.py)"
        )
    if "<" in qualname or "." in qualname:
        raise ValueError(
            f"{module}.{qualname} is not a module-level function; workers import "
            "task functions by dotted path"
        )
    path = f"{module}.{qualname}"
    found = getattr(importlib.import_module(module), qualname, None)
    if found is not func:
        raise ValueError(f"{path} does not name this function (is it decorated or replaced?)")
    return path


def is_trusted_module(module_name):
    """Return True when ``module_name`` is a module of ``FLOWFORGE_FUNCTION_MODULES`` or under one."""
    return any(
        module_name == trusted or module_name.startswith(trusted + ".")
        for trusted in get_setting("FLOWFORGE_FUNCTION_MODULES")
    )


def is_trusted_path(path):
    """Return True when ``path`` lies under a module of ``FLOWFORGE_FUNCTION_MODULES``."""
    return is_trusted_module(path.rpartition(".")[0])


def is_defined_in_trusted_module(func):
    """Return True when ``func`` is a function *defined* in a trusted module.

    A trusted module that does ``from subprocess import run`` must not turn
    ``trusted_module.run`` into a task function: an import file or an admin
    form could then name it and an operator pass it any arguments. So the
    rule looks at where the function was defined (``__module__``), never at
    the module it was reached through.
    """
    return inspect.isfunction(func) and is_trusted_module(func.__module__ or "")


def _attribute(path):
    """Import the module of ``path`` and return the attribute it names (None if none)."""
    module_name, _, name = path.rpartition(".")
    if name.startswith("_"):
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, name, None)


def resolve_trusted(path):
    """Return the function defined in a trusted module that ``path`` names, or None if there is none."""
    func = _attribute(path)
    return func if is_defined_in_trusted_module(func) else None


def trusted_functions():
    """Return {path: function} for the public functions defined in the trusted modules."""
    found = {}
    for module_name in get_setting("FLOWFORGE_FUNCTION_MODULES"):
        module = importlib.import_module(module_name)
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and func.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = func
    return found


def runnable(path, func):
    """Return True when a worker may call ``func``, imported by ``path``.

    The worker's last line of defence, with no database query: a function
    registered from code is named by its own module and name (that is how
    :func:`function_path` builds the path), and any other must be defined in a
    trusted module. A definition written before the allowlist looked at
    ``__module__`` could still name a function imported into a trusted module.
    """
    own_path = f"{getattr(func, '__module__', None)}.{getattr(func, '__qualname__', None)}"
    return path == own_path or is_defined_in_trusted_module(func)


def describe(func):
    """Return (docstring, source) of ``func``; the source may be unavailable."""
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        source = ""
    return inspect.getdoc(func) or "", source


def registered_paths(paths=None):
    """Return the set of paths registered from code (among ``paths`` when given)."""
    queryset = TaskFunction.objects.all()
    if paths is not None:
        queryset = queryset.filter(path__in=list(paths))
    return set(queryset.values_list("path", flat=True))


def function_checker(extra_paths=(), paths=None):
    """Return ``check(path) -> message or None`` for :func:`validation.validate_flow`.

    ``extra_paths`` are allowed too (functions being registered right now).
    ``paths``, when given, limits the one database query to the paths at hand.
    """
    allowed = set(extra_paths) | registered_paths(paths)

    def check(path):
        if path in allowed:
            return None
        if not DOTTED_PATH_RE.match(path):
            return f"{path!r} is not a dotted path to a function"
        if not is_trusted_path(path):
            return (
                f"{path!r} is not an allowed task function: register it from code with "
                "register_task_pipeline or list its module in FLOWFORGE_FUNCTION_MODULES"
            )
        func = _attribute(path)
        if not inspect.isfunction(func):
            return f"{path!r} is not a public function of its module"
        if not is_defined_in_trusted_module(func):
            return (
                f"{path!r} is not an allowed task function: it is imported into its module from "
                f"{func.__module__!r}; name a function defined in a module of FLOWFORGE_FUNCTION_MODULES"
            )
        return None

    return check


def remember(functions):
    """Store ``{path: function}`` registered from code, with docstring and source."""
    stored = {row.path: row for row in TaskFunction.objects.filter(path__in=list(functions))}
    for path, func in functions.items():
        docstring, source = describe(func)
        row = stored.get(path)
        if row is None:
            TaskFunction.objects.create(path=path, docstring=docstring, source=source)
        elif (row.docstring, row.source) != (docstring, source):
            row.docstring, row.source = docstring, source
            row.save(update_fields=["docstring", "source", "updated_at"])


def describe_paths(paths):
    """Return {path: (docstring, source)} from the stored registry or trusted modules."""
    paths = {path for path in paths if path}
    texts = {
        row.path: (row.docstring, row.source) for row in TaskFunction.objects.filter(path__in=list(paths))
    }
    for path in paths - texts.keys():
        func = resolve_trusted(path) if is_trusted_path(path) else None
        texts[path] = describe(func) if func else ("", "")
    return texts


def function_choices():
    """Return sorted (path, label) pairs of every function a task may use."""
    paths = registered_paths() | set(trusted_functions())
    return [(path, path) for path in sorted(paths)]
