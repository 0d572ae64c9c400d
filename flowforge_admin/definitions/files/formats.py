"""The file formats: django-import-export's format classes, written so that a file reads back exactly.

Formats are django-import-export's format classes (tablib underneath) for
writing; files are read by :mod:`.reading` and :mod:`.rows`. Each class here
changes how the library writes: YAML and JSON one readable mapping per row,
XLSX text cells that stay text, CSV cells that cannot run as spreadsheet
formulas. The escapes of XLSX and CSV are undone by :mod:`.rows` on reading.
"""

import io
import json
import re

import tablib
import yaml
from import_export.formats import base_formats

from .columns import FLOW_COLUMNS


def _packaged_rows(dataset):
    """Rows as dicts without the empty flow settings of a flow's later rows (JSON, YAML)."""
    rows = []
    for row in dataset.dict:
        if rows and rows[-1]["flow"] == row["flow"]:
            row = {key: value for key, value in row.items() if key not in FLOW_COLUMNS}
        rows.append(row)
    return rows


class _YAMLDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, writing text with Unicode line separators double-quoted.

    In plain or single-quoted style PyYAML writes NEL / LS / PS as they are,
    and reading folds them into spaces; double-quoted, they are escaped.
    """


def _represent_text(dumper, text):
    style = '"' if any(char in text for char in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_YAMLDumper.add_representer(str, _represent_text)


class YAML(base_formats.YAML):
    """YAML in block style, one mapping per row: readable and diffable in version control."""

    def export_data(self, dataset, **kwargs):
        return yaml.dump(
            _packaged_rows(dataset),
            Dumper=_YAMLDumper,
            default_flow_style=False,
            allow_unicode=True,
            sort_keys=False,
        )


class JSON(base_formats.JSON):
    """JSON with one key per line, so that a changed task is a small diff."""

    def export_data(self, dataset, **kwargs):
        return json.dumps(_packaged_rows(dataset), indent=2, ensure_ascii=False) + "\n"


# Characters an XLSX file cannot hold as they are (XML normalises a carriage return to a line
# feed; control characters are not allowed), written as Excel does: _xHHHH_, with a literal
# "_x" before such a pattern written _x005F_x.
XLSX_ESCAPE_RE = re.compile(r"_x(?=[0-9A-Fa-f]{4}_)|[\x00-\x08\x0b-\x1f]")
XLSX_UNESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def xlsx_escape(text):
    return XLSX_ESCAPE_RE.sub(
        lambda match: "_x005F_x" if match.group() == "_x" else f"_x{ord(match.group()):04X}_", text
    )


def xlsx_unescape(text):
    return XLSX_UNESCAPE_RE.sub(lambda match: chr(int(match.group(1), 16)), text)


class XLSX(base_formats.XLSX):
    """XLSX whose text cells stay text: a value starting with '=' is not turned into a formula.

    Exporting it as a formula would change it on the way back (and run it in
    a spreadsheet program); stripping the '=' as tablib's escape does would too.
    """

    def export_data(self, dataset, **kwargs):
        from openpyxl import Workbook
        from openpyxl.styles import Font

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "flows"
        sheet.append(list(dataset.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for number, row in enumerate(dataset, start=2):
            for column, value in enumerate(row, start=1):
                if isinstance(value, str):
                    value = xlsx_escape(value)
                cell = sheet.cell(row=number, column=column, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
        stream = io.BytesIO()
        workbook.save(stream)
        return stream.getvalue()


# A cell a spreadsheet program would run as a formula (OWASP "CSV injection"): exported with a
# leading apostrophe, which spreadsheets show as text. Text that already starts with
# apostrophes before such a character gets one more, so that reading removes exactly one and
# export -> import gives back the same text.
CSV_FORMULA_RE = re.compile(r"'*[=+\-@\t\r]")


def csv_escape(value):
    return f"'{value}" if isinstance(value, str) and CSV_FORMULA_RE.match(value) else value


def csv_unescape(value):
    if isinstance(value, str) and value.startswith("'") and CSV_FORMULA_RE.match(value, 1):
        return value[1:]
    return value


class CSV(base_formats.CSV):
    """CSV whose text cells cannot run as spreadsheet formulas (see :data:`CSV_FORMULA_RE`)."""

    def export_data(self, dataset, **kwargs):
        escaped = tablib.Dataset(headers=dataset.headers, title=dataset.title)
        for row in dataset:
            escaped.append([csv_escape(value) for value in row])
        return super().export_data(escaped, **kwargs)


FORMATS = {
    "yaml": YAML,
    "json": JSON,
    "csv": CSV,
    "xlsx": XLSX,
}
EXTENSIONS = {"yaml": "yaml", "yml": "yaml", "json": "json", "csv": "csv", "xlsx": "xlsx"}

# Files are read from libyaml's events (reading.read_yaml) and written by PyYAML's own
# dumper, whose output does not depend on libyaml being installed.


def format_for(name):
    """Return the django-import-export format instance for a format name (yaml, json, csv, xlsx)."""
    return FORMATS[name]()


def format_from_filename(filename):
    """Return the format name for a file name's extension, or None."""
    return EXTENSIONS.get(filename.rpartition(".")[2].lower()) if "." in filename else None
