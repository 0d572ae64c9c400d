"""The package's one-way flow (../shared/DESIGN.md, "Layout"), read from every module's imports.

Imports are parsed with ``ast``, never executed: relative and absolute ones, and
those inside functions too (a lazy import is still a dependency), except where
a rule says "at module level".
"""

import ast
from pathlib import Path

import flowforge_admin

APP = Path(flowforge_admin.__file__).parent
MAX_LINES = 400


def module_name(path):
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node, path):
    """The absolute modules an Import or ImportFrom node imports (``from . import x`` imports package.x)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = module_name(path)
    if not node.level:
        return [node.module]
    package = base.split(".") if path.name == "__init__.py" else base.split(".")[:-1]
    base = ".".join(package[: len(package) - node.level + 1])
    if node.module:
        return [f"{base}.{node.module}"]
    return [f"{base}.{alias.name}" for alias in node.names]


def nodes(tree, *, module_level):
    """Every node of ``tree``; with ``module_level``, not those inside functions (run later, if ever)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if module_level and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        todo.extend(ast.iter_child_nodes(node))


def imports_of(package, *, module_level=False):
    """{file relative to the app: sorted absolute names it imports} for every module under ``package``."""
    found = {}
    for path in sorted((APP / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        names = {
            name
            for node in nodes(tree, module_level=module_level)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for name in imported(node, path)
        }
        found[str(path.relative_to(APP))] = sorted(names)
    return found


def offenders(package, forbidden, **kwargs):
    """``file: imported module`` for every import of ``package``'s modules inside one of ``forbidden``."""
    prefixes = [f"flowforge_admin.{name}" for name in forbidden]
    return [
        f"{file}: {name}"
        for file, names in imports_of(package, **kwargs).items()
        for name in names
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)
    ]


def test_forms_never_import_the_engine():
    found = offenders("forms", ["engine"])
    assert not found, "\n".join(found)


def test_definitions_import_nothing_downstream():
    found = offenders("definitions", ["engine", "actions", "admin", "forms", "views"])
    assert not found, "\n".join(found)


def test_the_admin_never_imports_the_engine():
    assert offenders("admin", ["engine"]) == []


def test_models_import_nothing_downstream_at_module_level():
    assert (
        offenders("models", ["definitions", "engine", "actions", "admin", "forms"], module_level=True) == []
    )


def test_no_module_over_400_lines():
    counts = {
        str(path.relative_to(APP)): len(path.read_text().splitlines())
        for path in sorted(APP.rglob("*.py"))
        if "migrations" not in path.relative_to(APP).parts
    }
    found = [f"{file}: {lines} lines" for file, lines in counts.items() if lines > MAX_LINES]
    assert not found, "\n".join(found)


def test_relative_imports_are_resolved_against_the_importing_module():
    """The parser itself: a test of the rules above is only as good as this."""
    tree = ast.parse("from ..engine import launch\nfrom . import fields\nimport flowforge_admin.states")
    path = APP / "forms" / "launch.py"
    names = [imported(node, path) for node in tree.body]
    assert names == [["flowforge_admin.engine"], ["flowforge_admin.forms.fields"], ["flowforge_admin.states"]]
    init = APP / "forms" / "__init__.py"
    assert imported(ast.parse("from .launch import LaunchForm").body[0], init) == [
        "flowforge_admin.forms.launch"
    ]


def test_imports_inside_functions_count_unless_only_module_level_ones_do():
    tree = ast.parse("import a\nclass C:\n    import b\n    def f(self):\n        import c")
    seen = {
        alias.name
        for node in nodes(tree, module_level=False)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert seen == {"a", "b", "c"}
    seen = {
        alias.name
        for node in nodes(tree, module_level=True)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert seen == {"a", "b"}
