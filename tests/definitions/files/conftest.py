"""Helpers of the flow file tests: files made of rows, exports, what is stored before and after, hostile files."""

import csv
import datetime
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from openpyxl import Workbook, load_workbook

from flowforge_admin.definitions import store
from flowforge_admin.definitions.files.columns import schedule_data
from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.definitions.files.preview import plan_import
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Flow, FlowSchedule
from tests.conftest import DEMO, make_flow

FORMATS = ["yaml", "json", "csv", "xlsx"]
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
FUNCTION = DEMO + "prepare_batch"
HEADER = ["flow", "task", "parent", "function", "depends_on", "verbose_name"]


def export(format_name="yaml", flows=None):
    return export_flows(Flow.objects.all() if flows is None else flows, format_name)


def cell_values(content):
    """The cell values of an XLSX file's sheet (files carry timestamps, values do not)."""
    sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
    return [[cell.value for cell in row] for row in sheet.rows]


def same_file(format_name, first, second):
    if format_name == "xlsx":
        return cell_values(first) == cell_values(second)
    return first == second


def snapshot():
    """Every stored definition as plain data: names, tree, order, dependencies, settings, schedules."""
    data = {}
    for flow in Flow.objects.order_by("name"):
        spec = store.read_flow_spec(flow)
        schedules = [schedule_data(item) for item in flow.schedules.order_by("name")]
        data[flow.name] = (spec, spec.signature(), flow.is_paused, flow.version, schedules)
    return data


def definitions():
    """Like :func:`snapshot` without the version numbers (a fresh database starts at 1)."""
    return {name: (spec, paused, schedules) for name, (spec, _, paused, _, schedules) in snapshot().items()}


def rows_file(rows, format_name="json"):
    """Make a file of ``rows`` (dicts); CSV and XLSX take the columns of all rows."""
    if format_name == "json":
        return json.dumps(rows).encode()
    columns = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    if format_name == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode()
    raise ValueError(format_name)


def issues_of(content, format_name="json"):
    plan = plan_import(content, format_name)
    assert not plan.flows or not plan.issues
    return plan.issues


def store_demo():
    import_file((FIXTURES / "demo_flows.yaml").read_bytes(), "yaml")
    flow = Flow.objects.get(name="demo_daily_report")
    FlowSchedule.objects.create(
        flow=flow, name="nightly", kind="daily", at_time=datetime.time(2, 30), catchup=True
    )
    FlowSchedule.objects.create(flow=flow, name="every5", kind="minutes", every_minutes=5, params={"n": 1})
    return flow


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


# ---------------------------------------------------------------- hostile files made here


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
