"""flowforge_admin/roles.py: the Stakeholder, Operator and Editor groups of DESIGN.md."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from flowforge_admin.roles import sync_role_groups

APP_LABEL = "flowforge_admin"
ROLES = ["Stakeholder", "Operator", "Editor"]


def codenames(group_name):
    """Return the group's permissions as a set of ``app_label.codename``."""
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=group_name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def existing(*codenames):
    """Return the given codenames of this app that exist as permissions, as ``app_label.codename``."""
    found = Permission.objects.filter(content_type__app_label=APP_LABEL, codename__in=codenames)
    return {f"{APP_LABEL}.{codename}" for codename in found.values_list("codename", flat=True)}


def all_roles():
    return {name: codenames(name) for name in ROLES}


@pytest.fixture
def model_names():
    return [model._meta.model_name for model in apps.get_app_config(APP_LABEL).get_models()]


pytestmark = pytest.mark.django_db


def test_groups_exist_after_migrate():
    """The test database, made by migrate, has the three role groups."""
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_stakeholder_can_only_view_and_keep_api_tokens(model_names):
    """Stakeholder can view every model of the app and add and revoke (change) API tokens, nothing else."""
    expected = {f"{APP_LABEL}.view_{model}" for model in model_names} | {
        f"{APP_LABEL}.add_apitoken",
        f"{APP_LABEL}.change_apitoken",
    }

    assert codenames("Stakeholder") == expected
    assert {"flowforge_admin.view_flow", "flowforge_admin.view_task"} <= expected


def test_every_role_manages_api_tokens_but_none_deletes_them():
    """All three roles may add, view and change (revoke) their own tokens; deleting is for superusers."""
    for name in ROLES:
        assert {
            f"{APP_LABEL}.add_apitoken",
            f"{APP_LABEL}.view_apitoken",
            f"{APP_LABEL}.change_apitoken",
        } <= codenames(name), name
        assert f"{APP_LABEL}.delete_apitoken" not in codenames(name), name


def test_operator_adds_launching():
    """Operator is Stakeholder plus launch_flow (and the run and schedule codenames once they exist)."""
    operator = codenames("Operator")

    assert "flowforge_admin.launch_flow" in operator
    assert operator == codenames("Stakeholder") | existing("launch_flow", "cancel_run", "pause_schedule")


def test_operator_codenames_of_missing_models_are_skipped():
    """cancel_run and pause_schedule are left out while their models do not exist."""
    for codename, model in [("cancel_run", "flowrun"), ("pause_schedule", "flowschedule")]:
        try:
            apps.get_model(APP_LABEL, model)
        except LookupError:
            assert f"{APP_LABEL}.{codename}" not in codenames("Operator")
            assert not Permission.objects.filter(codename=codename).exists()
        else:
            assert f"{APP_LABEL}.{codename}" in codenames("Operator")


def test_editor_adds_editing_flows_and_tasks(model_names):
    """Editor is Operator plus add, change and delete on flows and tasks (and schedules, pools, alerts)."""
    editable = [
        model for model in ("flow", "task", "flowschedule", "pool", "flowalert") if model in model_names
    ]
    expected = codenames("Operator") | {
        f"{APP_LABEL}.{action}_{model}" for model in editable for action in ("add", "change", "delete")
    }

    assert codenames("Editor") == expected
    assert {
        "flowforge_admin.add_flow",
        "flowforge_admin.change_flow",
        "flowforge_admin.delete_flow",
        "flowforge_admin.add_task",
        "flowforge_admin.change_task",
        "flowforge_admin.delete_task",
        "flowforge_admin.change_pool",
    } <= expected


def test_nobody_edits_registered_functions():
    """Registered functions come from code only: no role may add, change or delete them."""
    editing = {f"{APP_LABEL}.{action}_taskfunction" for action in ("add", "change", "delete")}
    for name in ROLES:
        assert codenames(name).isdisjoint(editing), name


def test_roles_only_hold_this_apps_permissions():
    """The groups grant nothing outside flowforge_admin (no user or group admin)."""
    for name in ROLES:
        assert {codename.split(".")[0] for codename in codenames(name)} == {APP_LABEL}


def test_sync_is_idempotent():
    """Syncing twice keeps the same groups and permission rows, and makes no new group."""
    before = all_roles()
    ids = dict(Group.objects.filter(name__in=ROLES).values_list("name", "pk"))
    group_count = Group.objects.count()
    rows = set(Group.permissions.through.objects.values_list("pk", flat=True))

    sync_role_groups()
    sync_role_groups()

    assert all_roles() == before
    assert dict(Group.objects.filter(name__in=ROLES).values_list("name", "pk")) == ids
    assert Group.objects.count() == group_count
    assert set(Group.permissions.through.objects.values_list("pk", flat=True)) == rows


def test_migrate_keeps_the_groups_up_to_date():
    """Every migrate (post_migrate) repairs the groups, so an upgraded database gets them right."""
    before = all_roles()
    Group.objects.filter(name="Operator").delete()
    Group.objects.get(name="Editor").permissions.clear()

    call_command("migrate", verbosity=0)

    assert all_roles() == before


def test_sync_restores_a_removed_permission():
    """A permission removed by hand comes back on the next sync."""
    operator = Group.objects.get(name="Operator")
    operator.permissions.remove(Permission.objects.get(codename="launch_flow"))
    assert "flowforge_admin.launch_flow" not in codenames("Operator")

    sync_role_groups()

    assert "flowforge_admin.launch_flow" in codenames("Operator")


def test_sync_removes_an_extra_permission():
    """A permission added by hand to a role is taken away again: each role gets exactly its set."""
    before = codenames("Stakeholder")
    Group.objects.get(name="Stakeholder").permissions.add(
        Permission.objects.get(content_type__app_label=APP_LABEL, codename="delete_flow")
    )

    sync_role_groups()

    assert codenames("Stakeholder") == before


def test_sync_recreates_a_deleted_group():
    """A deleted role group is made again, with its permissions."""
    before = codenames("Editor")
    Group.objects.filter(name="Editor").delete()

    sync_role_groups()

    assert codenames("Editor") == before


def test_editor_user_has_the_model_permissions(role_user):
    """A user in Editor may change tasks and launch flows, but not edit users."""
    user = role_user("Editor")

    assert user.has_perm("flowforge_admin.change_task") is True
    assert user.has_perm("flowforge_admin.launch_flow") is True
    assert user.has_perm("auth.change_user") is False


def test_stakeholder_user_cannot_change_or_launch(role_user):
    """A user in Stakeholder may view flows but neither change nor launch them."""
    user = role_user("Stakeholder")

    assert user.has_perm("flowforge_admin.view_flow") is True
    assert user.has_perm("flowforge_admin.change_flow") is False
    assert user.has_perm("flowforge_admin.launch_flow") is False
