"""Which functions tasks may run (registry.py)."""

import sys

import pytest
from django.test import override_settings

from flowforge_admin.definitions import registry
from flowforge_admin.models import TaskFunction

from .. import flow_functions

DEMO = "flowforge_admin.demo.tasks."


def test_function_path_of_a_module_level_function():
    assert registry.function_path(flow_functions.fetch_data1) == "tests.flow_functions.fetch_data1"


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (lambda: None, "is not a module-level function"),
        ("not callable", "is not callable"),
        (flow_functions.wrapped_task, "is not a module-level function"),
        (flow_functions.first_shadowed, "does not name this function"),
    ],
)
def test_function_path_refuses_what_workers_cannot_import(func, message):
    with pytest.raises(ValueError, match=message):
        registry.function_path(func)


def test_function_path_refuses_nested_and_main_functions():
    def inner():
        return None

    with pytest.raises(ValueError, match="not a module-level function"):
        registry.function_path(inner)
    inner.__module__ = "__main__"
    with pytest.raises(ValueError, match="defined in __main__"):
        registry.function_path(inner)


@override_settings(FLOWFORGE_FUNCTION_MODULES=["flowforge_admin.demo"])
def test_a_listed_package_trusts_its_submodules():
    assert registry.is_trusted_path(DEMO + "fetch_data1")
    assert not registry.is_trusted_path("flowforge_admin.demolition.run")


@pytest.mark.django_db
def test_checker_allows_trusted_and_registered_functions():
    TaskFunction.objects.create(path="tests.flow_functions.clean_data")
    check = registry.function_checker()
    assert check(DEMO + "fetch_data1") is None
    assert check("tests.flow_functions.clean_data") is None


@pytest.mark.django_db
def test_checker_refuses_missing_or_private_trusted_functions():
    check = registry.function_checker()
    assert "is not a public function of its module" in check(DEMO + "no_such_function")
    assert "is not a public function of its module" in check(DEMO + "_upstream")
    assert "is not a public function of its module" in check(DEMO + "logger")


@pytest.mark.django_db
def test_checker_refuses_other_paths_without_importing_them(monkeypatch):
    monkeypatch.delitem(sys.modules, "tests.untrusted_tasks", raising=False)
    message = registry.function_checker()("tests.untrusted_tasks.run")
    assert "'tests.untrusted_tasks.run' is not an allowed task function" in message
    assert "FLOWFORGE_FUNCTION_MODULES" in message
    assert "tests.untrusted_tasks" not in sys.modules
    assert "is not a dotted path" in registry.function_checker()("os.system(); x")


@pytest.mark.django_db
def test_remember_stores_docstring_and_source_and_updates_them():
    registry.remember({"tests.flow_functions.fetch_data1": flow_functions.fetch_data1})
    stored = TaskFunction.objects.get()
    assert stored.docstring == "Fetch the first dataset."
    assert stored.source.startswith("def fetch_data1():")
    registry.remember({"tests.flow_functions.fetch_data1": flow_functions.fetch_data2})
    stored.refresh_from_db()
    assert stored.docstring == "Fetch the second dataset."


@pytest.mark.django_db
def test_function_choices_list_registered_and_trusted_functions_sorted():
    TaskFunction.objects.create(path="tests.flow_functions.clean_data")
    paths = [path for path, _ in registry.function_choices()]
    assert paths == sorted(paths)
    assert "tests.flow_functions.clean_data" in paths
    assert DEMO + "generate_data" in paths
    assert DEMO + "_upstream" not in paths
