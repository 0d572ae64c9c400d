"""The function allowlist: a trusted module's imports never become task functions, whatever the entrance.

``tests.reexporting_tasks`` is listed in ``FLOWFORGE_FUNCTION_MODULES`` here
and does ``from subprocess import run``: an import file, an admin form or a
registration from code naming ``tests.reexporting_tasks.run`` must be
refused, and a worker must refuse to call it even from a definition stored
before the rule existed.
"""

import pytest

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.definitions import registry, store
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, Task, TaskFunction

from ..admin.test_tasks import add_url, form_errors, task_form_data
from ..conftest import make_flow, task_row
from .files.conftest import issues_of, rows_file

MODULE = "tests.reexporting_tasks"
IMPORTED = [f"{MODULE}.run", f"{MODULE}.rmtree", f"{MODULE}.fetch_data1"]


@pytest.fixture(autouse=True)
def _trust_the_module(settings):
    settings.FLOWFORGE_FUNCTION_MODULES = [MODULE]


@pytest.mark.django_db
@pytest.mark.parametrize("path", IMPORTED)
def test_checker_refuses_a_function_imported_into_a_trusted_module(path):
    message = registry.function_checker()(path)
    assert f"{path!r} is not an allowed task function: it is imported into its module from" in message
    assert registry.resolve_trusted(path) is None


@pytest.mark.django_db
def test_checker_allows_a_function_defined_in_the_trusted_module():
    assert registry.function_checker()(f"{MODULE}.own_task") is None
    assert set(registry.trusted_functions()) == {f"{MODULE}.own_task"}


@pytest.mark.django_db
def test_a_trusted_package_trusts_what_its_submodules_define(settings):
    """Defined in a submodule of an allowed package is allowed; ``__module__`` decides, not the path."""
    settings.FLOWFORGE_FUNCTION_MODULES = ["tests"]
    check = registry.function_checker()
    assert check(f"{MODULE}.fetch_data1") is None  # defined in tests.flow_functions
    assert "imported into its module from 'subprocess'" in check(f"{MODULE}.run")


@pytest.mark.django_db
@pytest.mark.parametrize("path", IMPORTED)
def test_import_file_naming_an_imported_function_is_refused(path):
    issues = issues_of(rows_file([task_row(function=path)]))
    assert len(issues) == 1
    assert (issues[0].row, issues[0].column) == (1, "function")
    assert "is imported into its module from" in issues[0].message
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_registration_naming_an_imported_function_by_path_is_refused():
    with pytest.raises(FlowDefinitionError, match="imported into its module from 'subprocess'"):
        register_task_pipeline(flow_name="shell", pipeline={"go": {"function": f"{MODULE}.run"}})
    assert not Flow.objects.exists()
    assert not TaskFunction.objects.exists()


@pytest.mark.django_db
def test_admin_form_naming_an_imported_function_is_refused(editor_client):
    flow = make_flow("etl", [TaskSpec(name="extract", function=f"{MODULE}.own_task")])

    response = editor_client.post(add_url(), task_form_data(flow, function=f"{MODULE}.run"))

    errors = form_errors(response)
    assert list(errors) == ["function"]
    assert f"{MODULE}.run is not one of the available choices" in errors["function"][0]
    assert list(Task.objects.values_list("name", flat=True)) == ["extract"]
    offered = [value for value, _ in response.context["adminform"].form.fields["function"].choices]
    assert f"{MODULE}.own_task" in offered
    assert not set(IMPORTED) & set(offered)


@pytest.mark.django_db
def test_worker_refuses_an_imported_function_stored_before_the_rule():
    """A definition written before the rule (no validation on the way) fails at the worker, uncalled."""
    flow, _ = store.write_flow(
        FlowSpec(
            name="old",
            display_name="old",
            tasks=(
                TaskSpec(name="fetch", function=f"{MODULE}.fetch_data1"),
                TaskSpec(name="own", function=f"{MODULE}.own_task"),
            ),
        ),
        origin=Flow.Origin.ADMIN,
    )

    run = run_flow(flow)

    fetch, own = run.task_runs.get(task_name="fetch"), run.task_runs.get(task_name="own")
    assert fetch.status == "failed"
    assert fetch.output is None
    assert f"'{MODULE}.fetch_data1' is not an allowed task function" in fetch.error
    assert (own.status, own.output) == ("succeeded", "own")
