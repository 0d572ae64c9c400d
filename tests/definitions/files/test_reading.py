"""Hostile files refused while reading, within bounded memory and time: XLSX, YAML and JSON bombs.

Each file is small and made here; each is refused with a message saying what
is wrong (and where), changes nothing, and never raises. Memory and time of
the same files at full size are measured by bench/bench_hostile_files.py.
"""

import pytest
import tablib

from flowforge_admin.definitions.files import reading
from flowforge_admin.definitions.files.formats import YAML
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.models import Task
from tests.conftest import task_row

from .conftest import (
    BILLION_LAUGHS,
    header_cells,
    refused,
    rows_file,
    sheet,
    task_cells,
    xlsx_with_sheet,
)

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- XLSX


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
    content = rows_file([task_row(params="[" * 5000 + "]" * 5000)], "csv")
    refused(content, "csv", "is not valid JSON: nested more than", row=1, column="params")


def test_duplicate_json_keys_are_refused(stored):
    refused(
        b'[{"flow": "f", "task": "a", "task": "b"}]', "json", "the key 'task' appears twice in one object"
    )


def test_too_many_rows_are_refused_in_every_text_format(stored, monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    rows = [task_row(task=f"t{index}") for index in range(5)]
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
