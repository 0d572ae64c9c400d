"""Saving a definition from code: register_task_pipeline's parse (pipeline.py) and SaveDefinitionAction."""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied

from flowforge_admin import api
from flowforge_admin.actions.definitions import SaveDefinitionAction
from flowforge_admin.definitions.pipeline import read_pipeline
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, TaskFunction

from .. import engine_tasks as t
from .conftest import log_of

pytestmark = pytest.mark.django_db

PIPELINE = {"first": {"function": t.echo}, "second": {"function": t.gather, "depends_on": ["first"]}}


def test_reading_a_pipeline_writes_nothing():
    spec, functions = read_pipeline("read_only", PIPELINE, params={"size": 1})
    assert [task.name for task in spec.tasks] == ["first", "second"]
    assert spec.tasks[1].depends_on == ("first",)
    assert spec.params == {"size": 1}
    assert set(functions) == {f"{t.__name__}.echo", f"{t.__name__}.gather"}
    assert not Flow.objects.exists()
    assert not TaskFunction.objects.exists()


def test_reading_a_bad_pipeline_reports_every_problem_at_once():
    with pytest.raises(FlowDefinitionError) as raised:
        read_pipeline("bad", {"a": {"function": t.echo, "depends_on": ["nope"]}, "b": {"fucntion": t.echo}})
    fields = {(problem.task, problem.field) for problem in raised.value.problems}
    assert ("a", "depends_on") in fields
    assert ("b", "fucntion") in fields


def test_a_definition_saved_by_a_user_is_in_the_flows_admin_log(editor):
    flow = api.register_task_pipeline("owned", PIPELINE, user=editor)
    assert log_of(flow) == [("editor", ADDITION, "Registered from code: created.")]
    api.register_task_pipeline("owned", PIPELINE, user=editor)  # unchanged: nothing to record
    changed = {**PIPELINE, "third": {"function": t.echo}}
    api.register_task_pipeline("owned", changed, user=editor)
    assert log_of(flow) == [
        ("editor", ADDITION, "Registered from code: created."),
        ("editor", CHANGE, "Registered from code: definition changed."),
    ]


def test_without_a_user_nothing_goes_to_the_admin_log():
    api.register_task_pipeline("anonymous", PIPELINE)
    assert Flow.objects.filter(name="anonymous").exists()
    assert not LogEntry.objects.exists()


def test_a_user_who_may_not_add_flows_writes_nothing(operator):
    with pytest.raises(PermissionDenied, match="flowforge_admin.add_flow is needed"):
        api.register_task_pipeline("refused", PIPELINE, user=operator)
    assert not Flow.objects.exists()
    assert not TaskFunction.objects.exists()
    assert not LogEntry.objects.exists()


def test_changing_an_existing_flow_needs_change_flow(operator):
    flow = api.register_task_pipeline("existing", PIPELINE)
    operator.user_permissions.add(Permission.objects.get(codename="add_flow"))
    changed = {"first": {"function": t.echo}}
    with pytest.raises(PermissionDenied, match="flowforge_admin.change_flow is needed"):
        api.register_task_pipeline("existing", changed, user=operator)
    assert sorted(flow.tasks.values_list("name", flat=True)) == ["first", "second"]


def test_the_functions_and_the_flow_are_written_together(monkeypatch):
    """A store that fails leaves no remembered function behind: one transaction."""
    spec, functions = read_pipeline("together", PIPELINE)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("flowforge_admin.definitions.store.write_flow", broken)
    with pytest.raises(RuntimeError):
        SaveDefinitionAction(spec, functions=functions).execute()
    assert not TaskFunction.objects.exists()
