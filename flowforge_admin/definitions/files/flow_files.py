"""Flow definitions as import/export files: rows <-> :class:`FlowSpec`, the preview and the write.

One row per task (a flow without tasks has one row with an empty ``task``).
The flow's own settings (display name, description, paused, parameters,
schema, schedules) sit on the flow's first row; its other rows leave them
empty. Rows may come in any order: ``position`` orders siblings, ``parent``
and ``depends_on`` may name tasks further down the file.

Reading a file never imports a module it names: function paths are checked
by :func:`registry.function_checker`, and every rule is the one of
:func:`validation.validate_flow`, so an import file gets the admin's messages,
each placed at a row and a column. A file with any problem writes nothing.

Formats are django-import-export's format classes (tablib underneath) for
writing. Files are read by :mod:`flowforge_admin.definitions.files.reading`, within a
bounded amount of memory and time (rows, columns, depth, an XLSX's unpacked
size; no YAML aliases): tablib would read an XLSX sheet as wide and long as it
claims to be, and takes the columns of the first JSON/YAML object only, dropping
an unknown key of a later row without a word. Each cell is then read for its
kind (a list where a name belongs is a row error, not an exception) and for
text that cannot be stored (lone surrogates, NUL).
"""

import datetime
import io
import json
import re
from dataclasses import dataclass, field

import tablib
import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from import_export.formats import base_formats

from ...conf import get_setting
from ...models import Flow, FlowSchedule
from ...models.schedules import DEFINITION_FIELDS
from ...text import bad_text, escape_surrogates, printable
from ...text import clean as clean_text
from .. import registry, store
from ..params import check_run_params
from ..rules import validate_flow
from ..spec import FlowSpec, TaskSpec, preorder
from . import reading


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

FLOW_COLUMNS = [
    "flow_display_name",
    "flow_description",
    "flow_paused",
    "flow_params",
    "flow_params_schema",
    "flow_schedules",
]
TASK_COLUMNS = [
    "task",
    "parent",
    "position",
    "function",
    "depends_on",
    "verbose_name",
    "params",
    "retries",
    "retry_delay",
    "timeout",
]
COLUMNS = ["flow", *FLOW_COLUMNS, *TASK_COLUMNS]
LABEL_COLUMNS = {"flow_display_name", "flow_description"}
REQUIRED_COLUMNS = ["flow", "task", "parent", "function", "depends_on"]
SCHEDULE_FIELDS = DEFINITION_FIELDS
# validate_flow's field names -> the file's columns.
TASK_FIELD_COLUMNS = {"name": "task"}
FLOW_FIELD_COLUMNS = {"name": "flow", "params": "flow_params", "params_schema": "flow_params_schema"}
TASK_COMPARED_FIELDS = ["parent", "function", "verbose_name", "params", "retries", "retry_delay", "timeout"]


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a file: where (row counted from 1 after the header, column) and what."""

    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self):
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class FileProblem(Exception):
    """The file cannot be read at all (size, encoding, syntax, columns)."""

    def __init__(self, message, row=None, column=None):
        super().__init__(message)
        self.issue = Issue(message, row, column)


@dataclass
class FlowFile:
    """What a file says about one flow: its tasks and the flow settings it gives."""

    name: str
    first_row: int
    given: dict = field(default_factory=dict)  # flow column -> parsed value (present columns only)
    tasks: list = field(default_factory=list)  # (row, position, TaskSpec)


@dataclass
class FlowChange:
    """What importing a file does to one flow (the preview)."""

    name: str
    status: str  # created, changed, unchanged
    spec: FlowSpec
    paused: bool
    schedules: list | None  # None: the file has no schedules column; leave them
    flow_fields: list = field(default_factory=list)
    tasks_added: list = field(default_factory=list)
    tasks_removed: list = field(default_factory=list)
    tasks_changed: list = field(default_factory=list)  # (task, [fields])
    deps_added: list = field(default_factory=list)  # (task, upstream)
    deps_removed: list = field(default_factory=list)
    schedules_added: list = field(default_factory=list)
    schedules_changed: list = field(default_factory=list)
    schedules_removed: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # applied anyway; the preview says them


@dataclass
class ImportPlan:
    flows: list = field(default_factory=list)
    issues: list = field(default_factory=list)

    @property
    def is_valid(self):
        return not self.issues

    @property
    def changes(self):
        return [change for change in self.flows if change.status != "unchanged"]

    def summary(self):
        """Return the preview as lines of text, one flow after the other."""
        lines = []
        for change in self.flows:
            lines.append(f"{change.status} {change.name}")
            for label, items in _change_items(change):
                if items:
                    lines.append(f"  {label}: {', '.join(items)}")
            lines += [f"  warning: {warning}" for warning in change.warnings]
        counts = dict.fromkeys(("created", "changed", "unchanged"), 0)
        for change in self.flows:
            counts[change.status] += 1
        lines.append(
            f"{counts['created']} flow(s) created, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged."
        )
        return lines


# A History line names at most this many items of each kind (a file may add 20 000 tasks).
MESSAGE_ITEMS = 20


def change_message(change):
    """Return what importing did to one flow, in one line (for its admin History)."""
    parts = []
    for label, items in _change_items(change):
        if items:
            shown = ", ".join(items[:MESSAGE_ITEMS])
            more = f" and {len(items) - MESSAGE_ITEMS} more" if len(items) > MESSAGE_ITEMS else ""
            parts.append(f"{label}: {shown}{more}")
    return "; ".join(parts)


def _change_items(change):
    return [
        ("flow settings changed", change.flow_fields),
        ("tasks added", change.tasks_added),
        ("tasks removed", change.tasks_removed),
        ("tasks changed", [f"{name} ({', '.join(fields)})" for name, fields in change.tasks_changed]),
        ("dependencies added", [f"{task} <- {up}" for task, up in change.deps_added]),
        ("dependencies removed", [f"{task} <- {up}" for task, up in change.deps_removed]),
        ("schedules added", change.schedules_added),
        ("schedules changed", change.schedules_changed),
        ("schedules removed", change.schedules_removed),
    ]


# ---------------------------------------------------------------- export


def format_for(name):
    """Return the django-import-export format instance for a format name (yaml, json, csv, xlsx)."""
    return FORMATS[name]()


def format_from_filename(filename):
    """Return the format name for a file name's extension, or None."""
    return EXTENSIONS.get(filename.rpartition(".")[2].lower()) if "." in filename else None


def schedule_data(schedule):
    """Return a schedule as JSON-ready data (times as ISO text)."""
    data = {}
    for name in SCHEDULE_FIELDS:
        value = getattr(schedule, name)
        if isinstance(value, (datetime.date, datetime.time)):
            value = value.isoformat()
        data[name] = value
    return data


def flow_rows(spec, paused=False, schedules=()):
    """Return the rows of one flow: tasks in tree order, settings on the first row."""
    settings = {
        "flow_display_name": spec.display_name,
        "flow_description": spec.description,
        "flow_paused": bool(paused),
        "flow_params": _json_text(spec.params),
        "flow_params_schema": "" if spec.params_schema is None else _json_text(spec.params_schema),
        "flow_schedules": _json_text(sorted(schedules, key=lambda item: item["name"])),
    }
    positions, rows = {}, []
    for task in spec.tasks or [None]:
        row = dict.fromkeys(COLUMNS, "")
        row["flow"] = spec.name
        if not rows:
            row.update(settings)
        if task is not None:
            positions[task.parent] = positions.get(task.parent, 0) + 1
            row.update(
                task=task.name,
                parent=task.parent or "",
                position=positions[task.parent],
                function=task.function,
                depends_on=", ".join(sorted(task.depends_on)),
                verbose_name=task.verbose_name,
                params=_json_text(task.params),
                retries=task.retries,
                retry_delay=task.retry_delay,
                timeout="" if task.timeout is None else task.timeout,
            )
        rows.append(row)
    return rows


def _json_text(value):
    # A lone surrogate stored before it was refused is written as its escape: the file can be
    # encoded, and importing it names the problem.
    return escape_surrogates(json.dumps(value, sort_keys=True, ensure_ascii=False))


def export_dataset(flows):
    """Return a tablib Dataset of ``flows`` (a queryset or list), ordered by flow name."""
    flows = sorted(flows, key=lambda flow: flow.name)
    schedules = {}
    for schedule in FlowSchedule.objects.filter(flow__in=[flow.pk for flow in flows]).order_by("name"):
        schedules.setdefault(schedule.flow_id, []).append(schedule_data(schedule))
    dataset = tablib.Dataset(headers=COLUMNS, title="flows")
    for flow in flows:
        spec = store.read_flow_spec(flow)
        for row in flow_rows(spec, flow.is_paused, schedules.get(flow.pk, [])):
            # No stored text may break the export of every flow: U+FFFD for a lone surrogate.
            dataset.append([printable(v) if isinstance(v, str) else v for v in (row[c] for c in COLUMNS)])
    return dataset


def export_flows(flows, format_name):
    """Return the file content (bytes) of ``flows`` in ``format_name``."""
    data = format_for(format_name).export_data(export_dataset(flows))
    return data.encode() if isinstance(data, str) else data


# ---------------------------------------------------------------- reading


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
        if any(not _blank(value) for value in row.values())
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


_NO_VALUE = object()


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


INTEGER_RE = re.compile(r"-?[0-9]+")


def _kind(value):
    """How a message names the kind of a cell's value."""
    if isinstance(value, bool):
        return "a true/false value (YAML reads yes, no, on, off, true and false so: write it in quotes)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _number(value, default):
    """Cell -> int when it is one; anything else is returned as is for validation to name."""
    if _blank(value):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    # ASCII digits only: str.isdigit() is also true for '²', which int() refuses.
    if isinstance(value, str) and INTEGER_RE.fullmatch(value.strip()):
        return int(value.strip())
    return value.strip() if isinstance(value, str) else value


class _Row:
    """Parses the cells of one row, collecting what is wrong instead of stopping.

    A cell of the wrong kind is reported here, and a stand-in value of the
    right kind is returned, so that the later checks run on the rest of the
    file (what they would say about the same cell is dropped, see plan_rows).
    """

    def __init__(self, number, cells, issues):
        self.number, self.cells, self.issues = number, cells, issues
        for column, value in cells.items():
            problem = bad_text(value)
            if problem:
                self.problem(column, problem)
                cells[column] = clean_text(value)

    def problem(self, column, message):
        self.issues.append(Issue(message, self.number, column))

    def name(self, column, value=_NO_VALUE):
        """Cell -> a name (text, spaces around removed; a whole number as written), or ""."""
        value = self.cells.get(column) if value is _NO_VALUE else value
        if _blank(value):
            return ""
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        self.problem(column, f"must be a name (text), not {_kind(value)}")
        return str(value)

    def label(self, column):
        """Cell -> free text, kept as written (spaces too); numbers and dates as text."""
        value = self.cells.get(column)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, (bool, dict, list)):
            self.problem(column, f"must be text, not {_kind(value)}")
            return ""
        return str(value)

    def json(self, column, default, kinds):
        value = self.cells.get(column)
        if _blank(value):
            return default
        if isinstance(value, str):
            try:
                value = reading.load_json(value)
            except reading.ReadError as error:
                self.problem(column, f"is not valid JSON: {error.message}")
                return default
            except json.JSONDecodeError as error:
                self.problem(column, f"is not valid JSON: {error}")
                return default
            except ValueError:  # an integer of more than 4300 digits (Python's conversion limit)
                self.problem(column, "is not valid JSON here: it holds an integer with too many digits")
                return default
            except RecursionError:  # a depth check missed by a structure it does not count
                self.problem(column, "is not valid JSON: nested too deeply")
                return default
            problem = bad_text(value)
            if problem:
                self.problem(column, problem)
                return default
        if not isinstance(value, kinds):
            names = " or ".join(
                kind.__name__.replace("dict", "object").replace("list", "array") for kind in kinds
            )
            self.problem(column, f"must be a JSON {names}")
            return default
        return value

    def boolean(self, column):
        value = self.cells.get(column)
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        self.problem(column, f"must be true or false, not {value!r}")
        return False

    def names(self, column):
        """Cell -> task names: text separated by commas, or a list of names (JSON, YAML)."""
        value = self.cells.get(column)
        if _blank(value):
            return ()
        if isinstance(value, list):
            return tuple(name for name in (self.name(column, item) for item in value) if name)
        if isinstance(value, (bool, dict)):
            self.problem(column, f"must be task names separated by commas, not {_kind(value)}")
            return ()
        return tuple(name.strip() for name in self.name(column).split(",") if name.strip())


def parse_rows(rows):
    """Return ``([FlowFile], [Issue])`` from numbered rows; pure, nothing is looked up."""
    issues, flows = [], {}
    columns = set().union(*(row.keys() for _, row in rows))
    for number, cells in rows:
        row = _Row(number, cells, issues)
        reported = len(issues)
        name = row.name("flow")
        if len(issues) > reported:
            continue
        if not name:
            row.problem("flow", "a flow name is required")
            continue
        flow = flows.setdefault(name, FlowFile(name=name, first_row=number))
        _read_flow_settings(row, flow, columns)
        _read_task(row, flow)
    return list(flows.values()), issues


def _read_flow_settings(row, flow, columns):
    """Take the flow settings given on this row; two rows giving different values is an error."""
    readers = {
        "flow_display_name": lambda: row.label("flow_display_name"),
        "flow_description": lambda: row.label("flow_description"),
        "flow_paused": lambda: row.boolean("flow_paused"),
        "flow_params": lambda: row.json("flow_params", {}, (dict,)),
        "flow_params_schema": lambda: row.json("flow_params_schema", None, (dict,)),
        "flow_schedules": lambda: _read_schedules(row),
    }
    for column, read in readers.items():
        if column not in columns:
            continue
        cell = row.cells.get(column)
        # Labels are free text (a space is a label); other settings cells may hold stray spaces.
        if cell is None or cell == "" or (column not in LABEL_COLUMNS and _blank(cell)):
            flow.given.setdefault(column, None)  # present but empty so far
            continue
        value = read()
        if flow.given.get(column) is not None and flow.given[column] != value:
            row.problem(column, f"differs from the value given on an earlier row of flow {flow.name!r}")
        flow.given[column] = value


def _read_task(row, flow):
    name = row.name("task")
    if not name:
        for column in TASK_COLUMNS:
            if not _blank(row.cells.get(column)):
                row.problem("task", f"a row with {column!r} needs a task name")
                break
        return
    position = _number(row.cells.get("position"), None)
    if position is not None and (not isinstance(position, int) or isinstance(position, bool) or position < 1):
        row.problem("position", f"must be a whole number >= 1, not {row.cells.get('position')!r}")
        position = None
    params = row.json("params", {}, (dict,))
    parent = row.name("parent") or None
    task = TaskSpec(
        name=name,
        parent=parent,
        function=row.name("function"),
        verbose_name=row.label("verbose_name"),
        params=params,
        retries=_number(row.cells.get("retries"), 0),
        retry_delay=_number(row.cells.get("retry_delay"), 0),
        timeout=_number(row.cells.get("timeout"), None),
        depends_on=row.names("depends_on"),
    )
    flow.tasks.append((row.number, position, task))


def _read_schedules(row):
    """Parse and check the flow_schedules cell: a JSON array of schedule objects."""
    items = row.json("flow_schedules", [], (list,))
    schedules, names = [], set()
    for index, item in enumerate(items, start=1):
        where = f"schedule {index}"
        if not isinstance(item, dict):
            row.problem("flow_schedules", f"{where} must be an object")
            continue
        unknown = sorted(set(item) - set(SCHEDULE_FIELDS))
        if unknown:
            row.problem("flow_schedules", f"{where}: unknown field {unknown[0]!r}")
            continue
        if not isinstance(item.get("name"), str) or not item.get("name"):
            row.problem("flow_schedules", f"{where}: a name is required")
            continue
        if item["name"] in names:
            row.problem("flow_schedules", f"schedule {item['name']!r} is listed twice")
            continue
        names.add(item["name"])
        if not isinstance(item.get("params", {}), dict):
            row.problem("flow_schedules", f"schedule {item['name']!r}, params: must be a JSON object")
            continue
        data = _clean_schedule(row, item)
        if data is not None:
            schedules.append(data)
    return sorted(schedules, key=lambda data: data["name"])


def _clean_schedule(row, item):
    """Run the model's own field and kind checks on an unsaved schedule; return its data or None."""
    values = {name: item[name] for name in SCHEDULE_FIELDS if name in item and item[name] is not None}
    try:
        schedule = FlowSchedule(**values)
        schedule.full_clean(exclude=["flow"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            row.problem("flow_schedules", f"schedule {item['name']!r}, {name}: {' '.join(messages)}")
        return None
    except (TypeError, ValueError) as error:
        row.problem("flow_schedules", f"schedule {item['name']!r}: {error}")
        return None
    return schedule_data(schedule)


def build_spec(flow_file, stored=None):
    """Return the FlowSpec a FlowFile describes; absent flow columns keep the stored values."""
    given = flow_file.given

    def pick(column, attribute, default):
        if column in given:
            value = given[column]
            return default if value is None else value
        return getattr(stored, attribute) if stored is not None else default

    ordered = sorted(
        flow_file.tasks,
        key=lambda item: (item[1] is None, item[1] or 0, item[0]),
    )
    return FlowSpec(
        name=flow_file.name,
        tasks=tuple(preorder([task for _, _, task in ordered])),
        display_name=pick("flow_display_name", "display_name", ""),
        description=pick("flow_description", "description", ""),
        params=pick("flow_params", "params", {}),
        params_schema=pick("flow_params_schema", "params_schema", None),
    )


def check_flows(flow_files, specs):
    """Return the Issues of every flow: validate_flow's problems placed at a row and a column."""
    paths = {task.function for spec in specs for task in spec.tasks if isinstance(task.function, str)}
    check_function = registry.function_checker(paths=paths)
    owner = {}
    for flow_file in flow_files:
        for _, _, task in flow_file.tasks:
            owner.setdefault(task.name, flow_file.name)
    issues = []
    for flow_file, spec in zip(flow_files, specs, strict=True):
        rows = {}
        for number, _, task in flow_file.tasks:
            rows[task.name] = number  # the last row of a name: the duplicate
        issues.extend(_other_flow_references(flow_file, rows, owner))
        for problem in validate_flow(spec, check_function):
            if problem.task is None:
                row, column = flow_file.first_row, FLOW_FIELD_COLUMNS.get(problem.field, problem.field)
            else:
                row, column = rows.get(problem.task), TASK_FIELD_COLUMNS.get(problem.field, problem.field)
            issues.append(Issue(f"{problem}", row, column))
    return issues


def _schedule_issues(flow_file, spec, stored_schedules):
    """The checks the admin's schedule form makes, which need the flow: its params, a time to come.

    A schedule's parameters meet :func:`check_run_params` against the flow as
    the file leaves it (they would fail at every fire otherwise); a one-off
    schedule that is new or moved must be in the future, as in the form (an
    unchanged one that has fired is left alone, so an export imports again).
    """
    schedules = flow_file.given.get("flow_schedules") or []
    stored = {data["name"]: data for data in stored_schedules}
    for data in schedules:
        where = f"schedule {data['name']!r}"
        try:
            check_run_params(spec, data["params"])
        except ValidationError as error:
            for message in error.messages:
                yield Issue(f"{where}, {message}", flow_file.first_row, "flow_schedules")
        before = stored.get(data["name"])
        moved = before is None or (before["kind"], before["run_at"]) != (data["kind"], data["run_at"])
        once = data["kind"] == FlowSchedule.Kind.ONCE and data["run_at"]
        if once and moved and datetime.datetime.fromisoformat(data["run_at"]) <= timezone.now():
            yield Issue(
                f"{where}, run_at: {data['run_at']} has passed: give a time to come",
                flow_file.first_row,
                "flow_schedules",
            )


def _other_flow_references(flow_file, rows, owner):
    """Say so when a parent or dependency is a task of another flow of the file."""
    for number, _, task in flow_file.tasks:
        if (
            task.parent
            and task.parent not in rows
            and owner.get(task.parent, flow_file.name) != flow_file.name
        ):
            yield Issue(
                f"parent {task.parent!r} is a task of flow {owner[task.parent]!r}, not of {flow_file.name!r}",
                number,
                "parent",
            )
        for name in task.depends_on:
            if name not in rows and owner.get(name, flow_file.name) != flow_file.name:
                yield Issue(
                    f"{name!r} is a task of flow {owner[name]!r}, not of {flow_file.name!r}",
                    number,
                    "depends_on",
                )


# ---------------------------------------------------------------- preview and write


def plan_import(content, format_name):
    """Read, check and compare a file with the database; return an :class:`ImportPlan`.

    Never raises on bad content and never writes: the plan holds either the
    issues or, per flow, what importing would change.
    """
    if format_name not in FORMATS:
        return ImportPlan(issues=[Issue(f"unknown format {format_name!r}; use one of {', '.join(FORMATS)}")])
    try:
        rows = load_rows(content, format_name)
    except FileProblem as problem:
        return ImportPlan(issues=[problem.issue])
    return plan_rows(rows)


def plan_rows(rows):
    """Return the :class:`ImportPlan` of numbered rows (see :func:`plan_import`)."""
    flow_files, issues = parse_rows(rows)
    stored_flows = {flow.name: flow for flow in Flow.objects.filter(name__in=[f.name for f in flow_files])}
    stored_specs = {name: store.read_flow_spec(flow) for name, flow in stored_flows.items()}
    specs = [build_spec(flow_file, stored_specs.get(flow_file.name)) for flow_file in flow_files]
    # A cell already reported while reading (a list where a name belongs...) holds a stand-in
    # value: what the rules would say about that stand-in is left out.
    reported = {(issue.row, issue.column) for issue in issues}
    issues.extend(
        issue for issue in check_flows(flow_files, specs) if (issue.row, issue.column) not in reported
    )
    stored_schedules = {}
    for schedule in FlowSchedule.objects.filter(flow__in=list(stored_flows.values())).order_by("name"):
        stored_schedules.setdefault(schedule.flow_id, []).append(schedule_data(schedule))
    # A flow whose own params or schema are wrong has that reported; its schedules wait for it.
    bad_params = {issue.row for issue in issues if issue.column in ("flow_params", "flow_params_schema")}
    for flow_file, spec in zip(flow_files, specs, strict=True):
        if flow_file.first_row in bad_params:
            continue
        stored = stored_flows.get(flow_file.name)
        issues.extend(
            _schedule_issues(flow_file, spec, stored_schedules.get(stored.pk, []) if stored else [])
        )
    if issues:
        return ImportPlan(issues=sorted(issues, key=lambda issue: (issue.row or 0, issue.column or "")))
    flows = []
    for flow_file, spec in zip(flow_files, specs, strict=True):
        stored = stored_flows.get(flow_file.name)
        flows.append(
            compare(
                spec,
                flow_file.given,
                stored,
                stored_specs.get(flow_file.name),
                stored_schedules.get(stored.pk, []) if stored else [],
            )
        )
    return ImportPlan(flows=flows)


def compare(spec, given, stored, stored_spec, stored_schedules):
    """Return the :class:`FlowChange` turning the stored flow (or nothing) into ``spec``."""
    paused = given.get("flow_paused")
    if paused is None:
        paused = stored.is_paused if stored is not None and "flow_paused" not in given else False
    schedules = given.get("flow_schedules", None) if "flow_schedules" in given else None
    if "flow_schedules" in given and schedules is None:
        schedules = []
    change = FlowChange(name=spec.name, status="created", spec=spec, paused=paused, schedules=schedules)
    if stored is None:
        change.tasks_added = [task.name for task in spec.tasks]
        change.deps_added = [(task.name, up) for task in spec.tasks for up in sorted(task.depends_on)]
        change.schedules_added = [data["name"] for data in schedules or []]
        return change
    _compare_flow_fields(change, spec, stored_spec, stored.is_paused)
    _compare_tasks(change, spec, stored_spec)
    if schedules is not None:
        _compare_schedules(change, schedules, stored_schedules)
    changed = any(items for _, items in _change_items(change))
    change.status = "changed" if changed else "unchanged"
    if stored.origin == Flow.Origin.CODE and _changes_code_definition(change):
        change.warnings.append(CODE_FLOW_WARNING % {"flow": spec.name})
    return change


# Said for each flow registered from code whose definition an import changes: the
# import is applied (a hot fix may be wanted), but it does not last.
CODE_FLOW_WARNING = (
    "flow %(flow)s is defined in code (register_task_pipeline): the next manage.py sync_flows "
    "puts the code's definition back, undoing this import; change the code to keep it"
)


def _changes_code_definition(change):
    """Whether ``change`` touches what registration from code rewrites (not paused, not schedules)."""
    code_fields = [name for name in change.flow_fields if name != "paused"]
    parts = (code_fields, change.tasks_added, change.tasks_removed, change.tasks_changed)
    return any(parts) or bool(change.deps_added or change.deps_removed)


def _compare_flow_fields(change, spec, stored_spec, stored_paused):
    for name in ("display_name", "description", "params", "params_schema"):
        if getattr(spec, name) != getattr(stored_spec, name):
            change.flow_fields.append(name)
    if change.paused != stored_paused:
        change.flow_fields.append("paused")


def _sibling_positions(spec):
    positions, counts = {}, {}
    for task in spec.tasks:
        counts[task.parent] = counts.get(task.parent, 0) + 1
        positions[task.name] = counts[task.parent]
    return positions


def _compare_tasks(change, spec, stored_spec):
    new = {task.name: task for task in spec.tasks}
    old = {task.name: task for task in stored_spec.tasks}
    new_positions, old_positions = _sibling_positions(spec), _sibling_positions(stored_spec)
    change.tasks_added = [name for name in new if name not in old]
    change.tasks_removed = [name for name in old if name not in new]
    for name, task in new.items():
        if name not in old:
            change.deps_added += [(name, up) for up in sorted(task.depends_on)]
            continue
        before = old[name]
        fields = [f for f in TASK_COMPARED_FIELDS if getattr(task, f) != getattr(before, f)]
        if new_positions[name] != old_positions[name]:
            fields.append("position")
        if fields:
            change.tasks_changed.append((name, fields))
        change.deps_added += [(name, up) for up in sorted(set(task.depends_on) - set(before.depends_on))]
        change.deps_removed += [(name, up) for up in sorted(set(before.depends_on) - set(task.depends_on))]
    for name in change.tasks_removed:
        change.deps_removed += [(name, up) for up in sorted(old[name].depends_on)]


def _compare_schedules(change, schedules, stored_schedules):
    new = {data["name"]: data for data in schedules}
    old = {data["name"]: data for data in stored_schedules}
    change.schedules_added = [name for name in new if name not in old]
    change.schedules_removed = [name for name in old if name not in new]
    change.schedules_changed = [name for name in new if name in old and new[name] != old[name]]


@transaction.atomic
def apply_plan(plan):
    """Write every changed flow of a valid plan in one transaction; return the changes written."""
    if not plan.is_valid:
        raise ValueError("a plan with issues cannot be applied")
    for change in plan.changes:
        flow, _ = store.write_flow(change.spec, origin=Flow.Origin.IMPORT)
        if flow.is_paused != change.paused:
            flow.is_paused = change.paused
            flow.save(update_fields=["is_paused", "updated_at"])
        if change.schedules is not None:
            _write_schedules(flow, change)
    return plan.changes


def _write_schedules(flow, change):
    wanted = {data["name"]: data for data in change.schedules}
    for schedule in FlowSchedule.objects.filter(flow=flow):
        if schedule.name not in wanted:
            schedule.delete()
        elif schedule.name in change.schedules_changed:
            _set_schedule_fields(schedule, wanted[schedule.name])
            schedule.save()
    for name in change.schedules_added:
        schedule = FlowSchedule(flow=flow)
        _set_schedule_fields(schedule, wanted[name])
        schedule.save()


def _set_schedule_fields(schedule, data):
    for name in SCHEDULE_FIELDS:
        model_field = FlowSchedule._meta.get_field(name)
        setattr(schedule, name, model_field.to_python(data[name]))


def import_file(content, format_name):
    """Plan and, when valid, apply; return the plan."""
    plan = plan_import(content, format_name)
    if plan.is_valid:
        apply_plan(plan)
    return plan
