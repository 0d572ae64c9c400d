"""ImportFlowsAction: the import's permission check, write and admin log, whatever the entrance."""

import json
from io import StringIO

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.actions.imports import ImportFlowsAction
from flowforge_admin.admin import imports
from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.definitions.files.preview import plan_import
from flowforge_admin.models import Flow
from tests.conftest import chain_tasks, make_flow, task_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def content():
    """A file that adds a task to a stored flow ("edited") and creates another ("new_one")."""
    make_flow("edited", chain_tasks(2))
    rows = json.loads(export_flows(Flow.objects.all(), "json"))
    rows += [task_row("edited", "load", depends_on="t1"), task_row("new_one", "only")]
    return json.dumps(rows).encode()


def state():
    """Every flow with its tasks and version, and every admin-log entry."""
    flows = {
        flow.name: (flow.version, sorted(flow.tasks.values_list("name", flat=True)))
        for flow in Flow.objects.all()
    }
    return flows, list(LogEntry.objects.values_list("pk", flat=True))


def entries():
    return sorted(
        LogEntry.objects.values_list(
            "user__username", "content_type__model", "object_repr", "action_flag", "change_message"
        )
    )


def user_with(*codenames):
    user = User.objects.create_user("someone", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="flowforge_admin", codename__in=codenames)
    )
    return User.objects.get(pk=user.pk)  # no cached permissions


@pytest.mark.parametrize("codenames", [(), ("view_flow",), ("add_flow",), ("change_flow",)])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_user_without_add_and_change_permission_is_refused_and_nothing_changes(content, codenames, dry_run):
    """The admin's import page asks add and change permission on flows: the action asks the same."""
    user = user_with(*codenames)
    before = state()
    with pytest.raises(PermissionDenied, match="someone may not import flows"):
        ImportFlowsAction(content, "json", dry_run=dry_run, user=user).execute()
    assert state() == before


def test_an_inactive_user_is_refused(content):
    user = user_with("add_flow", "change_flow")
    user.is_active = False
    with pytest.raises(PermissionDenied):
        ImportFlowsAction(content, "json", user=user).execute()
    assert not Flow.objects.filter(name="new_one").exists()


def test_a_user_who_may_writes_and_each_flow_written_is_logged_in_one_insert(content, role_user):
    editor = role_user("Editor")
    with CaptureQueriesContext(connection) as queries:
        plan = ImportFlowsAction(content, "json", user=editor, how="Imported by a test").execute()
    assert [(change.name, change.status) for change in plan.changes] == [
        ("edited", "changed"),
        ("new_one", "created"),
    ]
    assert Flow.objects.get(name="edited").tasks.filter(name="load").exists()
    assert entries() == [
        (
            "editor",
            "flow",
            "edited",
            CHANGE,
            "Imported by a test: tasks added: load; dependencies added: load <- t1.",
        ),
        ("editor", "flow", "new_one", ADDITION, "Imported by a test: tasks added: only."),
    ]
    inserts = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT")]
    assert len([sql for sql in inserts if "django_admin_log" in sql]) == 1


def test_without_a_user_it_writes_and_logs_nothing(content):
    plan = ImportFlowsAction(content, "json").execute()
    assert plan.is_valid
    assert len(plan.changes) == 2
    assert Flow.objects.filter(name="new_one").exists()
    assert entries() == []


def test_a_dry_run_writes_and_logs_nothing(content, role_user):
    before = state()
    plan = ImportFlowsAction(content, "json", dry_run=True, user=role_user("Editor")).execute()
    assert [change.name for change in plan.changes] == ["edited", "new_one"]
    assert state() == before


def test_a_file_with_an_issue_returns_its_plan_and_changes_nothing(role_user):
    make_flow("edited", chain_tasks(2))
    before = state()
    bad = json.dumps([task_row("edited", "a", depends_on="nowhere")]).encode()
    plan = ImportFlowsAction(bad, "json", user=role_user("Editor")).execute()
    assert not plan.is_valid
    assert ["row 1, column 'depends_on'" in str(issue) for issue in plan.issues] == [True]
    assert state() == before


def test_a_prepared_plan_is_written(content, role_user):
    plan = plan_import(content, "json")
    assert ImportFlowsAction(plan=plan, user=role_user("Editor")).execute() is plan
    assert Flow.objects.filter(name="new_one").exists()
    assert len(entries()) == 2


def test_it_needs_a_file_or_a_plan():
    with pytest.raises(TypeError):
        ImportFlowsAction()


# ---------------------------------------------------------------- the entrances


def logged_by(entrance):
    """The admin-log entries ``entrance()`` writes, without the entrance's own words; then undone."""
    savepoint = transaction.savepoint()
    entrance()
    written = [(*entry[:4], entry[4].partition(": ")[2]) for entry in entries()]
    transaction.savepoint_rollback(savepoint)
    return written


def test_the_command_and_the_admin_write_the_same_log_entries(
    content, role_user, client, tmp_path, monkeypatch
):
    monkeypatch.setattr(imports, "pending_dir", lambda: tmp_path / "imports")
    editor = role_user("Editor")
    client.force_login(editor)
    path = tmp_path / "flows.json"
    path.write_bytes(content)

    def admin():
        url = reverse("admin:flowforge_admin_flow_import")
        preview = client.post(url, {"import_file": SimpleUploadedFile("flows.json", content)})
        confirmed = client.post(url, {"token": preview.context["token"], "format": "json", "confirm": "1"})
        assert confirmed.status_code == 302

    def command():
        call_command("import_flows", str(path), "--user", "editor", stdout=StringIO())

    from_admin, from_command = logged_by(admin), logged_by(command)
    assert (
        from_admin
        == from_command
        == [
            ("editor", "flow", "edited", CHANGE, "tasks added: load; dependencies added: load <- t1."),
            ("editor", "flow", "new_one", ADDITION, "tasks added: only."),
        ]
    )
    assert LogEntry.objects.count() == 0
