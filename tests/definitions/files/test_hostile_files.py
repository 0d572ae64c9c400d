"""Hostile import files: cells of the wrong kind, unstorable text, formulas; every entrance refuses them.

Each file is small and made here; each is refused with a message saying what
is wrong (and where), changes nothing, and never raises.
"""

import csv
import io
import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowforge_admin import text
from flowforge_admin.admin import imports
from flowforge_admin.definitions import rules
from flowforge_admin.definitions.files import reading
from flowforge_admin.definitions.files.columns import COLUMNS
from flowforge_admin.definitions.files.preview import plan_import
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.forms.flows import FlowForm
from flowforge_admin.models import Flow, Task
from tests.conftest import make_flow, task_row

from .conftest import (
    BILLION_LAUGHS,
    definitions,
    export,
    header_cells,
    refused,
    rows_file,
    sheet,
    task_cells,
    xlsx_with_sheet,
)

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- cells of the wrong kind


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"flow": True}, "flow", "must be a name (text), not a true/false value"),
        ({"task": ["a"]}, "task", "must be a name (text), not a list"),
        ({"task": {"a": 1}}, "task", "must be a name (text), not an object"),
        ({"parent": {"a": 1}}, "parent", "must be a name (text), not an object"),
        ({"parent": ["x"]}, "parent", "must be a name (text), not a list"),
        ({"depends_on": {"a": 1}}, "depends_on", "must be task names separated by commas, not an object"),
        ({"depends_on": [["a"]]}, "depends_on", "must be a name (text), not a list"),
        ({"depends_on": [{"a": 1}]}, "depends_on", "must be a name (text), not an object"),
        ({"function": ["os.system"]}, "function", "must be a name (text), not a list"),
        ({"verbose_name": {"a": 1}}, "verbose_name", "must be text, not an object"),
        ({"flow_display_name": [1]}, "flow_display_name", "must be text, not a list"),
        ({"retries": [1]}, "retries", "must be a whole number from 0 to 2147483647, not [1]"),
        ({"retries": "²"}, "retries", "must be a whole number from 0 to 2147483647, not '²'"),
        ({"retry_delay": "--5"}, "retry_delay", "not '--5'"),
        ({"timeout": {"s": 1}}, "timeout", "must be a whole number of seconds from 1 to 2147483647"),
        ({"position": [1]}, "position", "must be a whole number >= 1"),
    ],
)
def test_a_cell_of_the_wrong_kind_is_a_row_error(stored, cells, column, message):
    refused(json.dumps([task_row(**cells)]).encode(), "json", message, row=1, column=column)


def test_yaml_yes_is_not_the_name_true(stored):
    """`flow: yes` is a YAML boolean: refused, not turned into the flow 'True'."""
    content = b"- flow: yes\n  task: a\n  parent: ''\n  function: ''\n  depends_on: ''\n"
    refused(content, "yaml", "must be a name (text), not a true/false value", row=1, column="flow")


CELL_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.dates()
    | st.sampled_from(["a", "a, b", "², 1", "--1", "[1]", '{"a": 1}', "\ud800", "\x00"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=5,
)


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.dictionaries(st.sampled_from(COLUMNS), CELL_VALUES, max_size=10).map(
            lambda cells: {**task_row(), **cells}
        ),
        min_size=1,
        max_size=3,
    )
)
def test_any_cell_kinds_give_issues_or_a_valid_plan(stored, rows):
    """Whatever kind of value each cell holds (as YAML and JSON can write it), import never raises."""
    before = definitions()
    files = [
        ("yaml", yaml.safe_dump(rows, allow_unicode=False).encode()),
        ("json", json.dumps(rows, default=str).encode()),
    ]
    for format_name, content in files:
        plan = import_file(content, format_name)
        assert plan.is_valid or plan.issues
        assert all(str(issue) for issue in plan.issues)
        if not plan.is_valid:
            assert definitions() == before
        Flow.objects.exclude(name="kept").delete()


# ---------------------------------------------------------------- unstorable text

UNSTORABLE = [("\ud800", "lone surrogate (U+D800)"), ("\x00", "NUL character (U+0000)")]


@pytest.mark.parametrize(("bad", "what"), UNSTORABLE)
@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ({"verbose_name": "x{bad}"}, "verbose_name"),
        ({"flow_description": "x{bad}"}, "flow_description"),
        ({"task": "a{bad}"}, "task"),
        ({"params": {"k": ["x{bad}"]}}, "params"),
        ({"params": {"k{bad}": 1}}, "params"),
        ({"flow_schedules": [{"name": "s{bad}", "kind": "daily"}]}, "flow_schedules"),
    ],
)
def test_unstorable_text_is_refused_at_its_cell(stored, bad, what, cells, column):
    cells = json.loads(json.dumps(cells).replace("{bad}", json.dumps(bad)[1:-1]))
    refused(json.dumps([task_row(**cells)]).encode(), "json", what, row=1, column=column)


@pytest.mark.parametrize(("bad", "what"), UNSTORABLE)
def test_unstorable_text_inside_a_json_cell_of_csv_and_an_xlsx_escape(stored, bad, what):
    escaped = json.dumps({"k": bad})
    refused(rows_file([task_row(params=escaped)], "csv"), "csv", what, row=1, column="params")
    cells = [*task_cells(2), ("F2", f"x_x{ord(bad):04X}_")]
    refused(xlsx_with_sheet(sheet([header_cells(), cells])), "xlsx", what, row=1, column="verbose_name")


ANY_TEXT = st.text(st.characters() | st.sampled_from(["\ud800", "\udfff", "\x00"]), max_size=8)


@given(label=ANY_TEXT, params_text=ANY_TEXT)
@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_text_is_stored_exactly_or_refused_by_name(stored, label, params_text):
    """Any string, surrogates and NUL included: stored as written, or refused naming the character."""
    Flow.objects.filter(name="f").delete()
    before = definitions()
    content = json.dumps([task_row(verbose_name=label, params={"p": params_text})]).encode()
    plan = import_file(content, "json")
    if text.bad_text([label, params_text]):
        assert {issue.column for issue in plan.issues} <= {"verbose_name", "params"}
        assert all("cannot be stored" in i.message or "not valid Unicode" in i.message for i in plan.issues)
        assert definitions() == before
    else:
        assert plan.is_valid, [str(issue) for issue in plan.issues]
        task = Task.objects.get(flow__name="f")
        assert (task.verbose_name, task.params) == (label, {"p": params_text})


@pytest.mark.parametrize(("bad", "what"), UNSTORABLE)
def test_every_entrance_refuses_unstorable_text(bad, what):
    """validate_flow (registration, admin task form, import) and the flow form's JSON fields."""
    spec = FlowSpec(
        name="f",
        description=f"d{bad}",
        params={"p": bad},
        tasks=(TaskSpec(name="a", verbose_name=f"v{bad}", params={"q": [bad]}),),
    )
    problems = {(p.task, p.field): p.message for p in rules.validate_flow(spec, lambda path: None)}
    assert set(problems) == {(None, "description"), (None, "params"), ("a", "verbose_name"), ("a", "params")}
    assert what in problems[None, "description"]
    assert what in problems["a", "verbose_name"]

    escaped = json.dumps({"p": bad})
    form = FlowForm(data={"name": "f", "params": escaped, "params_schema": json.dumps({"title": bad})})
    assert not form.is_valid()
    assert what in form.errors["params"][0]
    assert what in form.errors["params_schema"][0]


def test_a_name_with_a_trailing_newline_is_refused():
    assert "may contain only letters" in rules.check_name("flow\n")


# ---------------------------------------------------------------- what is already stored


@pytest.fixture
def stored_surrogate():
    """A flow whose stored JSON holds a lone surrogate (possible on SQLite before it was refused)."""
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's jsonb refuses a lone surrogate: such a value cannot have been stored")
    flow = make_flow("f", [TaskSpec(name="a", verbose_name="=1+2")])
    Flow.objects.filter(pk=flow.pk).update(params={"k\ud800": "v"})
    Task.objects.filter(name="a").update(params={"p": "x\ud800"})
    return flow


@pytest.mark.parametrize("format_name", ["yaml", "json", "csv", "xlsx"])
def test_a_stored_surrogate_does_not_break_the_export(stored_surrogate, format_name):
    content = export(format_name)
    assert content
    if format_name != "xlsx":
        assert "\\ud800" in content.decode()
    # Importing it back names the problem instead of storing it again.
    plan = plan_import(content, format_name)
    assert any("lone surrogate (U+D800)" in issue.message for issue in plan.issues)


@pytest.mark.parametrize("client_fixture", ["admin_client", "editor_client", "stakeholder_client"])
def test_a_stored_surrogate_does_not_break_the_change_pages(stored_surrogate, client_fixture, request):
    client = request.getfixturevalue(client_fixture)
    task = Task.objects.get()
    for url in (
        reverse("admin:flowforge_admin_task_change", args=[task.pk]),
        reverse("admin:flowforge_admin_flow_change", args=[stored_surrogate.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert "\\ud800" in response.content.decode()


def test_saving_a_stored_surrogate_unchanged_names_it(stored_surrogate, admin_client):
    task = Task.objects.get()
    url = reverse("admin:flowforge_admin_task_change", args=[task.pk])
    data = {
        "flow": stored_surrogate.pk,
        "name": "a",
        "verbose_name": "v",
        "params": '{"p": "x\\ud800"}',
        "retries": 0,
        "retry_delay": 0,
        "_save": "Save",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "lone surrogate (U+D800)" in response.content.decode()
    assert Task.objects.get().verbose_name == "=1+2"


# ---------------------------------------------------------------- CSV formulas

FORMULAS = ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=1", "''+x", "'plain", '=HYPERLINK("http://x")']


def test_csv_export_neutralises_formulas_and_reads_them_back():
    make_flow("f", [TaskSpec(name=f"t{index}", verbose_name=label) for index, label in enumerate(FORMULAS)])
    content = export("csv")
    rows = list(csv.DictReader(io.StringIO(content.decode(), newline="")))
    written = {item["verbose_name"] for item in rows}
    assert {"'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "''=1", "'''+x", "'plain"} <= written

    Flow.objects.all().delete()
    assert import_file(content, "csv").is_valid
    assert sorted(Task.objects.values_list("verbose_name", flat=True)) == sorted(FORMULAS)
    assert export("csv") == content


@given(label=st.text(alphabet="'=+-@\t\rab ,\"", max_size=6))
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_csv_round_trip_of_any_label_is_byte_identical(label):
    Flow.objects.all().delete()
    make_flow("f", [TaskSpec(name="a", verbose_name=label)], description=label)
    first = export("csv")
    Flow.objects.all().delete()
    assert import_file(first, "csv").is_valid
    assert Task.objects.get().verbose_name == label
    assert export("csv") == first


# ---------------------------------------------------------------- the entrances: admin and command


@pytest.fixture
def pending_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "pending_dir", lambda: tmp_path / "imports")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bomb.yaml", BILLION_LAUGHS, "anchors (&amp;a) are not allowed"),
        (
            "bomb.xlsx",
            xlsx_with_sheet(sheet([header_cells(), [("XFD1048576", "x")]], dimension="A1:XFD1048576")),
            f"more than {reading.MAX_ROWS} rows",
        ),
        ("kinds.json", json.dumps([task_row(task=["a"])]).encode(), "must be a name (text), not a list"),
        ("nul.json", json.dumps([task_row(verbose_name="\x00")]).encode(), "NUL character (U+0000)"),
    ],
)
def test_admin_import_answers_200_with_the_message(
    stored, editor_client, pending_in_tmp, name, content, message
):
    before = definitions()
    response = editor_client.post(
        reverse("admin:flowforge_admin_flow_import"), {"import_file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "token" not in response.context or not response.context["token"]
    assert definitions() == before


def test_import_flows_exits_1_with_the_message(stored, tmp_path, capsys):
    path = tmp_path / "bomb.yaml"
    path.write_bytes(BILLION_LAUGHS)
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_flows", str(path))
    assert "line 7: anchors (&a) are not allowed" in capsys.readouterr().err
