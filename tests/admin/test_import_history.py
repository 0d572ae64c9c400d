"""A confirmed import is in the admin log of each flow it writes; a flow defined in code gets a warning."""

import json

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.urls import reverse

from flowforge_admin.admin import imports
from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.models import Flow
from tests.conftest import DEMO, chain_tasks, make_flow, task_row

from .test_import_export import IMPORT_URL, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pending_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "pending_dir", lambda: tmp_path / "imports")


def exported(*names):
    return json.loads(export_flows(Flow.objects.filter(name__in=names), "json"))


def confirm(client, rows):
    preview = upload(client, rows)
    return client.post(
        reverse(IMPORT_URL),
        {"token": preview.context["token"], "format": "json", "confirm": "1"},
        follow=True,
    )


def history(flow_name):
    flow = Flow.objects.get(name=flow_name)
    return list(
        LogEntry.objects.filter(object_id=str(flow.pk), content_type__model="flow").values_list(
            "user__username", "action_flag", "change_message"
        )
    )


def test_each_flow_an_import_writes_is_in_its_history(editor_client):
    make_flow("kept", chain_tasks(2))
    make_flow("edited", chain_tasks(2))
    rows = exported("kept", "edited")
    next(row for row in rows if row["flow"] == "edited" and row["task"] == "t1")["retries"] = 4
    rows.append(task_row("edited", "load", depends_on="t1"))
    rows.append(task_row("new_one", "only"))

    assert confirm(editor_client, rows).status_code == 200

    assert history("edited") == [
        (
            "editor",
            CHANGE,
            "Imported in the admin: tasks added: load; tasks changed: t1 (retries); "
            "dependencies added: load <- t1.",
        )
    ]
    assert history("new_one") == [("editor", ADDITION, "Imported in the admin: tasks added: only.")]
    assert history("kept") == []  # unchanged: nothing written, nothing logged


def test_the_history_page_shows_the_import(editor_client):
    make_flow("edited", chain_tasks(1))
    rows = exported("edited")
    rows.append(task_row("edited", "load"))
    confirm(editor_client, rows)
    flow = Flow.objects.get(name="edited")
    page = editor_client.get(reverse("admin:flowforge_admin_flow_history", args=[flow.pk])).text
    assert "Imported in the admin: tasks added: load." in page


@pytest.fixture
def coded():
    return register_task_pipeline("coded", {"a": {"function": DEMO + "prepare_batch"}})


def test_the_preview_warns_that_sync_flows_undoes_an_import_into_a_flow_defined_in_code(editor_client, coded):
    make_flow("edited", chain_tasks(1))
    rows = exported("coded", "edited")
    rows += [task_row("coded", "b", depends_on="a"), task_row("edited", "b")]
    html = upload(editor_client, rows).text

    assert html.count('class="ff-note ff-import-warning"') == 1
    assert (
        "flow coded is defined in code (register_task_pipeline): the next manage.py sync_flows puts the "
        "code&#x27;s definition back, undoing this import" in html
    )
    assert 'name="confirm"' in html  # a warning, not a refusal

    response = confirm(editor_client, rows)
    assert [str(m) for m in response.context["messages"] if m.level_tag == "warning"] == [
        "Warning: flow coded is defined in code (register_task_pipeline): the next manage.py sync_flows "
        "puts the code's definition back, undoing this import; change the code to keep it."
    ]
    assert Flow.objects.get(name="coded").tasks.filter(name="b").exists()


def test_pausing_a_flow_defined_in_code_lasts_so_it_gets_no_warning(editor_client, coded):
    rows = exported("coded")
    rows[0]["flow_paused"] = True
    html = upload(editor_client, rows).text
    assert 'data-flow="coded" data-status="changed"' in html
    assert "ff-import-warning" not in html


def test_a_large_import_is_summed_up_in_its_history(editor_client):
    rows = [task_row("big", f"t{n:02}") for n in range(25)]
    confirm(editor_client, rows)
    ((_user, _flag, message),) = history("big")
    assert message == (
        "Imported in the admin: tasks added: " + ", ".join(f"t{n:02}" for n in range(20)) + " and 5 more."
    )
