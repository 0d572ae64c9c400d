"""``import_flows --user``: the import in each flow's admin History; a flow defined in code gets a warning."""

import json

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Group, User

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.models import Flow
from tests.conftest import DEMO, chain_tasks, make_flow, task_row

from .test_import_flows import exit_code, run, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def edited_file(tmp_path):
    make_flow("edited", chain_tasks(1))
    rows = json.loads(export_flows(Flow.objects.all(), "json"))
    rows += [task_row("edited", "load"), task_row("new_one", "only")]
    return write(tmp_path, "flows.json", rows)


def deployer():
    """A user who may import: an Editor, as the admin's import page asks (add and change flows)."""
    user = User.objects.create_user("deployer")
    user.groups.add(Group.objects.get(name="Editor"))
    return user


def entries():
    return sorted(
        LogEntry.objects.values_list("user__username", "object_repr", "action_flag", "change_message")
    )


def test_with_user_each_flow_written_is_in_its_history(edited_file):
    deployer()
    code, out, err = run(edited_file, "--user", "deployer")
    assert code == 0, err
    assert entries() == [
        (
            "deployer",
            "edited",
            CHANGE,
            "Imported by manage.py import_flows from flows.json: tasks added: load.",
        ),
        (
            "deployer",
            "new_one",
            ADDITION,
            "Imported by manage.py import_flows from flows.json: tasks added: only.",
        ),
    ]


def test_without_user_there_is_nobody_to_record(edited_file):
    assert run(edited_file)[0] == 0
    assert entries() == []


def test_dry_run_records_nothing(edited_file):
    deployer()
    assert run(edited_file, "--user", "deployer", "--dry-run")[0] == 0
    assert entries() == []


def test_a_user_who_may_not_import_is_refused_and_nothing_changes(edited_file):
    """The admin's import page asks add and change permission on flows: --user is asked the same."""
    User.objects.create_user("viewer")
    code, out, err = run(edited_file, "--user", "viewer")
    assert code == 2
    assert "viewer may not import flows: flowforge_admin.add_flow and flowforge_admin.change_flow" in err
    assert not Flow.objects.filter(name="new_one").exists()
    assert not Flow.objects.get(name="edited").tasks.filter(name="load").exists()
    assert entries() == []


def test_an_unknown_user_is_bad_input_and_changes_nothing(edited_file):
    assert exit_code(edited_file, "--user", "nobody") == 2
    assert not Flow.objects.filter(name="new_one").exists()


def test_the_output_warns_that_sync_flows_undoes_an_import_into_a_flow_defined_in_code(tmp_path):
    register_task_pipeline("coded", {"a": {"function": DEMO + "prepare_batch"}})
    rows = json.loads(export_flows(Flow.objects.all(), "json"))
    rows.append(task_row("coded", "b", depends_on="a"))
    code, out, err = run(write(tmp_path, "flows.json", rows))
    assert code == 0, err
    assert (
        "  warning: flow coded is defined in code (register_task_pipeline): the next manage.py sync_flows "
        "puts the code's definition back, undoing this import; change the code to keep it\n"
    ) in out
    assert Flow.objects.get(name="coded").tasks.filter(name="b").exists()
