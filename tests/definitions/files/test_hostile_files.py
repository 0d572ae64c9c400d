"""Hostile import files: bombs, deep nesting, cells of the wrong kind, unstorable text, formulas.

Each file is small and made here; each is refused with a message saying what
is wrong (and where), changes nothing, and never raises. Memory and time of
the same files at full size are measured by bench/bench_hostile_files.py.
"""

import csv
import io
import json
import re
import zipfile

import pytest
import tablib
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook

from flowforge_admin import text
from flowforge_admin.admin import imports
from flowforge_admin.definitions import rules
from flowforge_admin.definitions.files import reading
from flowforge_admin.definitions.files.columns import COLUMNS
from flowforge_admin.definitions.files.formats import YAML
from flowforge_admin.definitions.files.preview import plan_import
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.forms.flows import FlowForm
from flowforge_admin.models import Flow, Task
from tests.conftest import DEMO, make_flow

from .test_round_trip import definitions, export, row, rows_file

pytestmark = pytest.mark.django_db

FUNCTION = DEMO + "prepare_batch"
HEADER = ["flow", "task", "parent", "function", "depends_on", "verbose_name"]


def refused(content, format_name, message, row=None, column=None):
    """Import ``content``: it must be refused with ``message`` (at ``row`` / ``column``), writing nothing."""
    before = definitions()
    plan = import_file(content, format_name)
    assert not plan.is_valid
    assert any(
        message in issue.message
        and (row is None or issue.row == row)
        and (column is None or issue.column == column)
        for issue in plan.issues
    ), [str(issue) for issue in plan.issues]
    assert definitions() == before
    return plan


@pytest.fixture
def stored():
    """A stored flow that a refused file must leave as it is."""
    return make_flow("kept", [TaskSpec(name="a", function=FUNCTION)])


# ---------------------------------------------------------------- XLSX


def xlsx_with_sheet(sheet_xml, extra_parts=()):
    """A real workbook whose first sheet's XML is replaced by ``sheet_xml`` (a few hundred bytes zipped)."""
    stream = io.BytesIO()
    Workbook().save(stream)
    out = io.BytesIO()
    with zipfile.ZipFile(stream) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = sheet_xml.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            target.writestr(item.filename, data)
        for name, data in extra_parts:
            target.writestr(name, data)
    return out.getvalue()


def sheet(rows, dimension="A1:F2", padding=""):
    """Worksheet XML of ``rows``: lists of (cell reference, text), each list one row."""
    xml = ""
    for cells in rows:
        number = re.sub("[A-Z]", "", cells[0][0])
        xml += f'<row r="{number}">'
        xml += "".join(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>' for ref, value in cells)
        xml += "</row>"
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{xml}</sheetData>{padding}</worksheet>'
    )


def header_cells(row_number=1):
    return [(f"{chr(65 + index)}{row_number}", name) for index, name in enumerate(HEADER)]


def task_cells(row_number, task="a"):
    values = ["f", task, "", FUNCTION, "", ""]
    return [(f"{chr(65 + index)}{row_number}", value) for index, value in enumerate(values) if value]


def test_a_declared_dimension_is_not_trusted():
    """A sheet claiming A1:XFD1048576 is read as the cells it has (openpyxl would fill ~17 billion)."""
    content = xlsx_with_sheet(sheet([header_cells(), task_cells(2)], dimension="A1:XFD1048576"))
    assert len(content) < 5_000

    plan = import_file(content, "xlsx")

    assert plan.is_valid, [str(issue) for issue in plan.issues]
    assert Task.objects.get().name == "a"


def test_a_cell_at_the_last_row_and_column_is_refused(stored):
    """One cell at XFD1048576: refused at the row limit, without reading a million rows."""
    content = xlsx_with_sheet(
        sheet([header_cells(), task_cells(2), [("XFD1048576", "x")]], dimension="A1:XFD1048576")
    )
    assert len(content) < 5_000
    refused(content, "xlsx", f"more than {reading.MAX_ROWS} rows")


def test_a_cell_right_of_the_header_is_refused(stored):
    content = xlsx_with_sheet(sheet([header_cells(), [*task_cells(2), ("XFD2", "x")]]))
    refused(content, "xlsx", "has a value in column 16384, right of the header's last column", row=1)


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(stored, monkeypatch):
    """What the zip says its parts unpack to is capped (a real bomb is 5 MB -> gigabytes)."""
    monkeypatch.setattr(reading, "MAX_XLSX_UNPACKED_BYTES", 100_000)
    content = xlsx_with_sheet(sheet([header_cells(), task_cells(2)], padding=" " * 200_000))
    assert len(content) < 5_000
    refused(content, "xlsx", "the XLSX file unpacks to")


def test_too_many_xlsx_rows_are_refused(stored, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    rows = [header_cells(), *(task_cells(number, f"t{number}") for number in range(2, 7))]
    refused(xlsx_with_sheet(sheet(rows)), "xlsx", "more than 3 rows")


def test_too_many_columns_are_refused(stored):
    wide = ",".join(f"c{index}" for index in range(reading.MAX_COLUMNS + 1))
    refused(f"{wide}\n".encode(), "csv", f"more than the limit of {reading.MAX_COLUMNS}")


# ---------------------------------------------------------------- YAML and JSON

BILLION_LAUGHS = b"""\
- flow: f
  task: a
  parent: ''
  function: ''
  depends_on: ''
  params:
    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]
"""


def test_yaml_aliases_are_refused(stored):
    assert len(BILLION_LAUGHS) < 500
    refused(BILLION_LAUGHS, "yaml", "line 7: anchors (&a) are not allowed")
    refused(b"- flow: f\n  task: *x\n", "yaml", "line 2: aliases (*x) are not allowed")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"- !foo {flow: f}\n", "line 1: the tag !foo is not allowed"),
        (b"- flow: !!binary aGk=\n", "line 1: the tag !!binary is not allowed"),
        (b"- flow: !!python/name:os.system\n", "the tag !!python/name:os.system is not allowed"),
        (b"- flow: !!int abc\n", "line 1:"),
        (b"- flow: f\n---\n- flow: g\n", "line 2: the file holds more than one YAML document"),
        (
            b"- flow: f\n  task: a\n  task: b\n",
            "line 3: the key 'task' appears twice in one mapping (first on line 2)",
        ),
        (b"- ? [a]\n  : b\n", "line 1: a key must be a plain value, not a list or mapping"),
    ],
)
def test_yaml_tags_documents_and_keys(stored, content, message):
    refused(content, "yaml", message)


@pytest.mark.parametrize(
    ("format_name", "depth", "message"),
    [
        ("json", 1000, "nested more than 64 levels deep (line 3)"),
        ("json", 100, "nested more than 64 levels deep (line 3)"),
        ("yaml", 100, "line 3: nested more than 64 levels deep"),
        # libyaml's own limit, met before the event that would pass 64 levels.
        ("yaml", 1000, 'exceeded maximum nesting depth\n  in "<unicode string>", line 3'),
    ],
)
def test_deep_nesting_is_refused_with_its_line(stored, format_name, depth, message):
    """1 000 levels took minutes and ended in a RecursionError; now refused at once, naming the line."""
    deep = "[" * depth + "]" * depth
    content = (
        f'[\n{{"flow": "f", "task": "a", "parent": "", "function": "", "depends_on": "",\n"params": {deep}}}]'
    )
    refused(content.encode(), format_name, message)


def test_deep_yaml_blocks_are_refused_with_their_line(stored):
    nested = "".join(f"{'  ' * level}k:\n" for level in range(2, 200))
    content = f"- flow: f\n  task: a\n  params:\n{nested}"
    refused(content.encode(), "yaml", "line 66: nested more than 64 levels deep")


def test_deep_json_in_a_csv_cell_is_a_row_error(stored):
    content = rows_file([row(params="[" * 5000 + "]" * 5000)], "csv")
    refused(content, "csv", "is not valid JSON: nested more than", row=1, column="params")


def test_duplicate_json_keys_are_refused(stored):
    refused(
        b'[{"flow": "f", "task": "a", "task": "b"}]', "json", "the key 'task' appears twice in one object"
    )


def test_too_many_rows_are_refused_in_every_text_format(stored, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    rows = [row(task=f"t{index}") for index in range(5)]
    refused(rows_file(rows, "json"), "json", "more than 3 rows")
    refused(rows_file(rows, "csv"), "csv", "more than 3 rows")
    refused(YAML().export_data(_dataset(rows)).encode(), "yaml", "more than 3 rows")


def _dataset(rows):
    columns = []
    for item in rows:
        columns += [key for key in item if key not in columns]
    return tablib.Dataset(*[[item.get(key) for key in columns] for item in rows], headers=columns)


def test_a_duplicated_csv_header_is_refused(stored):
    content = b"flow,task,parent,function,depends_on,task\nf,a,,,,b\n"
    refused(content, "csv", "the column 'task' appears more than once in the header", column="task")


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
    refused(json.dumps([row(**cells)]).encode(), "json", message, row=1, column=column)


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
            lambda cells: {**row(), **cells}
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
    refused(json.dumps([row(**cells)]).encode(), "json", what, row=1, column=column)


@pytest.mark.parametrize(("bad", "what"), UNSTORABLE)
def test_unstorable_text_inside_a_json_cell_of_csv_and_an_xlsx_escape(stored, bad, what):
    escaped = json.dumps({"k": bad})
    refused(rows_file([row(params=escaped)], "csv"), "csv", what, row=1, column="params")
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
    content = json.dumps([row(verbose_name=label, params={"p": params_text})]).encode()
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
        ("kinds.json", json.dumps([row(task=["a"])]).encode(), "must be a name (text), not a list"),
        ("nul.json", json.dumps([row(verbose_name="\x00")]).encode(), "NUL character (U+0000)"),
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
