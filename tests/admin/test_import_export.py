"""Admin import (upload -> preview -> confirm) and export (buttons, pages, action), with permissions."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowforge_admin.admin import imports
from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.definitions.files.formats import FORMATS
from flowforge_admin.models import Flow, Task
from tests.conftest import chain_tasks, make_flow, task_row
from tests.definitions.files.conftest import same_file

pytestmark = pytest.mark.django_db

IMPORT_URL = "admin:flowforge_admin_flow_import"
EXPORT_URL = "admin:flowforge_admin_flow_export"
LIST_URL = "admin:flowforge_admin_flow_changelist"


@pytest.fixture(autouse=True)
def pending_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "pending_dir", lambda: tmp_path / "imports")
    return tmp_path / "imports"


def upload(client, rows, name="flows.json", **data):
    content = rows if isinstance(rows, bytes) else json.dumps(rows).encode()
    return client.post(
        reverse(IMPORT_URL), {"import_file": SimpleUploadedFile(name, content), **data}, follow=False
    )


@pytest.fixture
def edited_file():
    """A stored flow and a file that adds, changes and removes tasks of it."""
    make_flow("etl", chain_tasks(3))
    rows = json.loads(export_flows(Flow.objects.all(), "json"))
    rows = [row for row in rows if row["task"] != "t2"]
    rows[1]["retries"] = 5
    rows.append(task_row("etl", "load", depends_on="t1"))
    return rows


class TestImport:
    def test_preview_shows_changes_per_flow_and_writes_nothing(self, editor_client, edited_file):
        response = upload(editor_client, edited_file)

        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-flow="etl" data-status="changed"' in html
        assert '<dd class="ff-tasks-added">load</dd>' in html
        assert '<dd class="ff-tasks-removed">t2</dd>' in html
        assert 't1 <span class="ff-muted">(retries)</span>' in html
        assert "load ← t1" in html
        assert "t2 ← t1" in html
        assert 'name="confirm"' in html
        assert Task.objects.filter(flow__name="etl", name="t2").exists()
        assert Flow.objects.get(name="etl").version == 1

    def test_confirm_applies_it(self, editor_client, edited_file, pending_in_tmp):
        preview = upload(editor_client, edited_file)
        token = preview.context["token"]

        response = editor_client.post(reverse(IMPORT_URL), {"token": token, "format": "json", "confirm": "1"})

        assert response.status_code == 302
        assert response["Location"] == reverse(LIST_URL)
        flow = Flow.objects.get(name="etl")
        assert flow.version == 2
        assert sorted(flow.tasks.values_list("name", flat=True)) == ["load", "t0", "t1"]
        assert not list(pending_in_tmp.iterdir())
        # The token is spent.
        again = editor_client.post(reverse(IMPORT_URL), {"token": token, "format": "json", "confirm": "1"})
        assert again.status_code == 302
        assert Flow.objects.get(name="etl").version == 2

    def test_errors_by_row_and_column_and_no_confirm(self, editor_client):
        rows = [
            task_row("new", "a"),
            task_row("new", "b", function="os.system"),
            task_row("new", "c", retries=-2),
        ]

        response = upload(editor_client, rows)

        html = response.content.decode()
        assert "The file has 2 errors; nothing was imported." in html
        assert "<tr><td>2</td><td>function</td>" in html
        assert "<tr><td>3</td><td>retries</td>" in html
        assert 'name="confirm"' not in html
        assert not Flow.objects.exists()

    def test_unchanged_file_offers_nothing_to_confirm(self, editor_client):
        make_flow("etl", chain_tasks(2))
        content = export_flows(Flow.objects.all(), "yaml")

        response = upload(editor_client, content, name="flows.yaml")

        html = response.content.decode()
        assert "Nothing to import" in html
        assert 'data-status="unchanged"' in html
        assert 'name="confirm"' not in html

    def test_format_from_name_or_choice(self, editor_client):
        csv = b"flow,task,parent,function,depends_on\nnew,a,,,\n"
        response = upload(editor_client, csv, name="flows.txt")
        assert "Cannot tell the format" in response.content.decode()

        response = upload(editor_client, csv, name="flows.txt", format="csv")
        assert 'data-flow="new" data-status="created"' in response.content.decode()

    def test_file_over_the_limit_is_refused_before_reading(self, editor_client, settings):
        settings.FLOWFORGE_IMPORT_MAX_BYTES = 20
        response = upload(editor_client, [task_row("new", "a")])
        assert "more than the limit of 20 bytes" in response.content.decode()

    def test_token_of_another_user_is_refused(self, editor_client, edited_file, django_user_model):
        token = upload(editor_client, edited_file).context["token"]
        other = django_user_model.objects.create_superuser("other", password="pw")
        editor_client.force_login(other)

        response = editor_client.post(reverse(IMPORT_URL), {"token": token, "format": "json", "confirm": "1"})

        assert response.status_code == 403
        assert Flow.objects.get(name="etl").version == 1

    def test_path_in_token_is_refused(self, editor_client):
        response = editor_client.post(
            reverse(IMPORT_URL), {"token": "1-../../etc/passwd", "format": "json", "confirm": "1"}
        )
        assert response.status_code == 403

    def test_import_needs_add_and_change_permission(self, operator_client):
        assert operator_client.get(reverse(IMPORT_URL)).status_code == 403
        response = upload(operator_client, [task_row("new", "a")])
        assert response.status_code == 403
        assert not Flow.objects.exists()

    def test_anonymous_goes_to_login(self, client):
        response = client.get(reverse(IMPORT_URL))
        assert response.status_code == 302
        assert "/login/" in response["Location"]


class TestExport:
    def test_stakeholder_downloads_every_format(self, stakeholder_client):
        make_flow("etl", chain_tasks(2))
        for format_name in FORMATS:
            response = stakeholder_client.get(reverse(EXPORT_URL), {"format": format_name})
            assert response.status_code == 200
            assert response["Content-Disposition"] == f'attachment; filename="flows.{format_name}"'
            expected = export_flows(Flow.objects.all(), format_name)
            assert same_file(format_name, response.content, expected)

    def test_export_page_without_format_shows_the_form(self, stakeholder_client):
        response = stakeholder_client.get(reverse(EXPORT_URL))
        assert response.status_code == 200
        assert 'id="flow_export_form"' in response.content.decode()

    def test_export_selected_action_leads_to_the_selected_flows(self, stakeholder_client):
        first = make_flow("first", chain_tasks(1))
        make_flow("second", chain_tasks(1))

        response = stakeholder_client.post(
            reverse(LIST_URL), {"action": "export_selected", "_selected_action": [first.pk]}
        )

        assert response.status_code == 302
        page = stakeholder_client.get(response["Location"])
        assert "<strong>first</strong>" in page.content.decode()
        download = stakeholder_client.get(response["Location"] + "&format=json")
        assert {row["flow"] for row in json.loads(download.content)} == {"first"}

    def test_export_needs_view_permission(self, client, django_user_model):
        user = django_user_model.objects.create_user("nobody", password="pw", is_staff=True)
        client.force_login(user)
        assert client.get(reverse(EXPORT_URL), {"format": "json"}).status_code == 403


class TestButtons:
    def test_editor_sees_import_and_export(self, editor_client):
        make_flow("etl", chain_tasks(1))  # the action menu shows only with flows listed
        html = editor_client.get(reverse(LIST_URL)).content.decode()
        assert 'class="ff-import-link"' in html
        assert 'class="ff-export-link"' in html
        assert 'value="export_selected"' in html

    def test_stakeholder_sees_only_export(self, stakeholder_client):
        html = stakeholder_client.get(reverse(LIST_URL)).content.decode()
        assert 'class="ff-import-link"' not in html
        assert 'class="ff-export-link"' in html

    def test_task_list_links_to_the_flow_import_and_export(self, editor_client):
        html = editor_client.get(reverse("admin:flowforge_admin_task_changelist")).content.decode()
        assert reverse(IMPORT_URL) in html
        assert reverse(EXPORT_URL) in html


class TestGarbage:
    @hypothesis_settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        content=st.binary(max_size=200),
        name=st.sampled_from(["f.yaml", "f.json", "f.csv", "f.xlsx", "f.txt"]),
    )
    def test_no_upload_gives_a_server_error_or_writes(self, editor_client, content, name):
        """Whatever is uploaded, the page answers 200 with errors or a preview; nothing is written."""
        response = upload(editor_client, content, name=name)
        assert response.status_code == 200
        assert not Flow.objects.exists()
