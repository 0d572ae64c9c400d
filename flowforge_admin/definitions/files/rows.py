"""A file's bytes as numbered rows of cells: size, encoding, the columns, the formats' escapes.

Files are read by the bounded readers of :mod:`.reading`, not by tablib,
within a bounded amount of memory and time (rows, columns, depth, an XLSX's
unpacked size; no YAML aliases): tablib would read an XLSX sheet as wide and
long as it claims to be, and takes the columns of the first JSON/YAML object
only, dropping an unknown key of a later row without a word. This module
checks the header against :data:`.columns.COLUMNS`, undoes the XLSX and CSV
escapes of :mod:`.formats`, drops blank rows and numbers the others from 1
(the row after the header); a file that cannot be read at all raises
:class:`.issues.FileProblem`.
"""

import yaml

from ...conf import get_setting
from . import reading
from .columns import COLUMNS, REQUIRED_COLUMNS
from .formats import csv_unescape, xlsx_unescape
from .issues import FileProblem


def load_rows(content, format_name):
    """Return ``[(row number, {column: value})]``; raise :class:`FileProblem` when unreadable."""
    limit = get_setting("FLOWFORGE_IMPORT_MAX_BYTES")
    if len(content) > limit:
        raise FileProblem(f"the file is {len(content)} bytes, more than the limit of {limit} bytes")
    if not content.strip():
        raise FileProblem("the file is empty")
    try:
        if format_name == "xlsx":
            headers, rows = _xlsx_rows(content)
        else:
            text = _decode(content)
            if format_name == "csv":
                headers, rows = _csv_rows(text)
            else:
                headers, rows = _object_rows(text, format_name)
    except reading.ReadError as error:
        raise FileProblem(error.message, error.row) from None
    return number_rows(headers, rows)


def number_rows(headers, rows):
    """Check the columns; return the rows that are not blank with their numbers (from 1)."""
    _check_columns(headers)
    numbered = [
        (number, row)
        for number, row in enumerate(rows, start=1)
        if any(not blank(value) for value in row.values())
    ]
    if not numbered:
        raise FileProblem("the file has no rows (only a header or nothing)")
    return numbered


def rows_of_dataset(dataset):
    """Numbered rows of a tablib Dataset (as django-import-export hands one to a resource)."""
    headers = [str(header) for header in dataset.headers or []]
    return number_rows(headers, [dict(zip(headers, row, strict=False)) for row in dataset])


def _decode(content):
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileProblem(
            f"the file is not UTF-8 text (byte {content[error.start]:#04x} at position {error.start}); "
            "save it as UTF-8"
        ) from None


def _xlsx_rows(content):
    headers, rows = reading.read_xlsx(content)
    headers = [str(header) if header is not None else "" for header in headers]
    return headers, [
        dict(zip(headers, [xlsx_unescape(v) if isinstance(v, str) else v for v in row], strict=False))
        for row in rows
    ]


def _csv_rows(text):
    headers, rows = reading.read_csv(text)
    return headers, [dict(zip(headers, [csv_unescape(value) for value in row], strict=False)) for row in rows]


def _object_rows(text, format_name):
    try:
        data = reading.read_json(text) if format_name == "json" else reading.read_yaml(text)
    except (ValueError, yaml.YAMLError) as error:
        raise FileProblem(f"the file is not valid {format_name.upper()}: {error}") from None
    if data is None or data == []:
        raise FileProblem("the file has no rows")
    if not isinstance(data, list):
        raise FileProblem(f"the file must hold a list of rows (objects), not a {type(data).__name__}")
    headers = []
    for number, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise FileProblem(f"a row must be an object of column: value, not a {type(row).__name__}", number)
        for key in row:
            if key not in headers:
                headers.append(key)
    return [str(header) for header in headers], [
        {str(key): value for key, value in row.items()} for row in data
    ]


def _check_columns(headers):
    seen = set()
    for header in headers:
        if header in seen:
            raise FileProblem(
                f"the column {header!r} appears more than once in the header; keep one", column=header
            )
        seen.add(header)
    unknown = [header for header in headers if header not in COLUMNS]
    if unknown:
        raise FileProblem(
            f"unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}", column=unknown[0]
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in headers]
    if missing:
        raise FileProblem(f"the required column {missing[0]!r} is missing", column=missing[0])


def blank(value):
    """Whether a cell holds nothing: None, or text of spaces only."""
    return value is None or (isinstance(value, str) and not value.strip())
