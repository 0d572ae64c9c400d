"""Numbered rows -> what the file says about each flow (:class:`FlowFile`), then its :class:`FlowSpec`.

Each cell is read for its kind (a list where a name belongs is a row error,
not an exception) and for text that cannot be stored (lone surrogates, NUL);
a wrong cell is reported where it is and a stand-in value of the right kind
is used, so that the later checks run on the rest of the file. Nothing is
looked up here: function paths and the rules are checked by :mod:`.checks`.
"""

import json
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from ...models import FlowSchedule
from ...text import bad_text
from ...text import clean as clean_text
from ..spec import FlowSpec, TaskSpec, preorder
from . import reading
from .columns import LABEL_COLUMNS, SCHEDULE_FIELDS, TASK_COLUMNS, schedule_data
from .issues import Issue
from .rows import blank


@dataclass
class FlowFile:
    """What a file says about one flow: its tasks and the flow settings it gives."""

    name: str
    first_row: int
    given: dict = field(default_factory=dict)  # flow column -> parsed value (present columns only)
    tasks: list = field(default_factory=list)  # (row, position, TaskSpec)


_NO_VALUE = object()


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
    if blank(value):
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
        if blank(value):
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
        if blank(value):
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
        if blank(value):
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
        "flow_max_active_runs": lambda: _number(row.cells.get("flow_max_active_runs"), None),
    }
    for column, read in readers.items():
        if column not in columns:
            continue
        cell = row.cells.get(column)
        # Labels are free text (a space is a label); other settings cells may hold stray spaces.
        if cell is None or cell == "" or (column not in LABEL_COLUMNS and blank(cell)):
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
            if not blank(row.cells.get(column)):
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
        pool=row.name("pool"),
        pool_slots=_number(row.cells.get("pool_slots"), 1),
        queue=row.name("queue"),
        # A JSON object, or empty for an ordinary task; its keys are checked with the flow.
        sensor=row.json("sensor", None, (dict,)),
        map_over=row.name("map_over"),
        map_param=row.name("map_param"),
        # A JSON object, or empty for an ordinary task; its keys are checked with the flow.
        approval=row.json("approval", None, (dict,)),
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
        max_active_runs=pick("flow_max_active_runs", "max_active_runs", None),
    )
