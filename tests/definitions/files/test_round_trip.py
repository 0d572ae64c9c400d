"""Flow definition files: every format, the round trip, every bad input, preview, atomicity, fuzzing."""

import csv
import datetime
import io
import json
import sys
from pathlib import Path

import pytest
import tablib
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from flowforge_admin.definitions import store
from flowforge_admin.definitions.files.columns import COLUMNS, REQUIRED_COLUMNS, schedule_data
from flowforge_admin.definitions.files.export import export_flows, flow_rows
from flowforge_admin.definitions.files.preview import plan_import
from flowforge_admin.definitions.files.write import apply_plan, import_file
from flowforge_admin.definitions.rules import validate_flow
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.models import Flow, FlowSchedule, Task
from tests.conftest import DEMO

FORMATS = ["yaml", "json", "csv", "xlsx"]
FIXTURES = Path(settings.BASE_DIR) / "fixtures"


# ---------------------------------------------------------------- helpers


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


def row(flow="f", task="a", parent="", function=DEMO + "prepare_batch", depends_on="", **more):
    return {
        "flow": flow,
        "task": task,
        "parent": parent,
        "function": function,
        "depends_on": depends_on,
        **more,
    }


def issues_of(content, format_name="json"):
    plan = plan_import(content, format_name)
    assert not plan.flows or not plan.issues
    return plan.issues


def store_demo():
    import_file((FIXTURES / "demo_flows.yaml").read_bytes(), "yaml")
    flow = Flow.objects.get(name="demo_daily_report")
    FlowSchedule.objects.create(flow=flow, name="nightly", kind="daily", at_time=datetime.time(2, 30))
    FlowSchedule.objects.create(flow=flow, name="every5", kind="minutes", every_minutes=5, params={"n": 1})
    return flow


# ---------------------------------------------------------------- formats and round trip


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
def test_demo_round_trip(format_name):
    """Export -> empty database -> import -> export: same file, same definitions (schedules too)."""
    store_demo()
    Flow.objects.filter(name="demo_daily_report").update(is_paused=True)
    first = export(format_name)
    before = definitions()

    Flow.objects.all().delete()
    plan = import_file(first, format_name)

    assert plan.is_valid, plan.issues
    assert [change.status for change in plan.flows] == ["created"]
    assert definitions() == before
    assert same_file(format_name, export(format_name), first)


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", ["yaml", "json"])
def test_fixture_files_hold_the_demo_flow(format_name):
    """fixtures/demo_flows.{yaml,json} import to the same demo_daily_report, and re-export to the same bytes."""
    content = (FIXTURES / f"demo_flows.{format_name}").read_bytes()

    plan = import_file(content, format_name)

    assert plan.is_valid, plan.issues
    spec = store.read_flow_spec(Flow.objects.get(name="demo_daily_report"))
    assert [task.name for task in spec.tasks] == [
        "fetch",
        "fetch_sales",
        "fetch_visitors",
        "clean_data",
        "analyse_data",
        "post_process",
    ]
    assert export(format_name) == content


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
def test_same_file_again_changes_nothing(format_name):
    """Importing what the database holds writes nothing: no new version, no touched row."""
    store_demo()
    content = export(format_name)
    before = snapshot()
    stamps = dict(Flow.objects.values_list("name", "updated_at"))

    plan = import_file(content, format_name)

    assert [change.status for change in plan.flows] == ["unchanged"]
    assert snapshot() == before
    assert dict(Flow.objects.values_list("name", "updated_at")) == stamps


@pytest.mark.django_db
def test_rows_in_any_order():
    """A parent or dependency may be defined further down; position orders the siblings."""
    rows = [
        row(task="c", parent="g", position=2, depends_on="b"),
        row(task="b", parent="g", position=1),
        row(task="d", depends_on="g", position=2),
        row(task="g", function="", position=1),
    ]

    plan = import_file(rows_file(rows), "json")

    assert plan.is_valid, plan.issues
    spec = store.read_flow_spec(Flow.objects.get(name="f"))
    assert [(task.name, task.parent) for task in spec.tasks] == [
        ("g", None),
        ("b", "g"),
        ("c", "g"),
        ("d", None),
    ]
    assert {task.name: task.depends_on for task in spec.tasks} == {"g": (), "b": (), "c": ("b",), "d": ("g",)}


@pytest.mark.django_db
def test_export_uses_a_bounded_number_of_queries():
    """Export costs the same queries for 10 or 200 tasks (per flow, not per task)."""
    from tests.conftest import chain_tasks, make_flow

    make_flow("small", chain_tasks(10))
    with CaptureQueriesContext(connection) as small:
        export("json", Flow.objects.filter(name="small"))
    make_flow("large", chain_tasks(200))
    with CaptureQueriesContext(connection) as large:
        export("json", Flow.objects.filter(name="large"))
    assert len(large) == len(small)


@pytest.mark.django_db
def test_import_uses_a_bounded_number_of_queries():
    """Preview and write of 200 tasks cost about the queries of 10 (bulk, not per row)."""
    from tests.conftest import chain_tasks

    def content(count):
        spec = FlowSpec(name="f", tasks=tuple(chain_tasks(count)))
        rows = flow_rows(spec)
        return rows_file(rows)

    counts = []
    for count in (10, 200):
        Flow.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            assert import_file(content(count), "json").is_valid
        counts.append(len(queries))
    # Bulk statements: SQLite splits a bulk insert into batches (its variable limit), so a few
    # more for 20 times the tasks, never one per row or per dependency.
    assert counts[1] - counts[0] <= 6, counts


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
def test_text_survives_every_format_exactly(format_name):
    """Line endings of admin text areas, control characters, spaces and Excel's own escapes."""
    from tests.conftest import make_flow

    description = "line one\r\nline two\rthree\n\ttab \x0b\x1f \x85\u2028 _x000D_ _x005F_x0041_ =1+2"
    make_flow(
        "f", [TaskSpec(name="a", verbose_name=" padded \x07")], description=description, display_name=" x "
    )
    content = export(format_name)
    Flow.objects.all().delete()

    assert import_file(content, format_name).is_valid
    flow = Flow.objects.get()
    assert flow.description == description
    assert flow.display_name == " x "
    assert flow.tasks.get().verbose_name == " padded \x07"


# ---------------------------------------------------------------- property: random DAGs with nested groups

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
LABELS = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=["L", "N", "P", "S", "Z", "Cc"], exclude_characters="\x00"
    ),
    max_size=12,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | LABELS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(LABELS, children, max_size=3),
    max_leaves=6,
)
PARAMS = st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True), JSON_VALUES, max_size=3)
FUNCTIONS = st.sampled_from(["", DEMO + "prepare_batch", DEMO + "clean_data", DEMO + "fetch_data1"])


@st.composite
def flow_specs(draw):
    """A valid flow: parents come earlier (a tree), dependencies kept only while the flow stays acyclic."""
    names = draw(st.lists(NAMES, min_size=0, max_size=10, unique=True))
    tasks = []
    for index, name in enumerate(names):
        parent = draw(st.none() | st.sampled_from(names[:index])) if index else None
        tasks.append(
            TaskSpec(
                name=name,
                parent=parent,
                function=draw(FUNCTIONS),
                verbose_name=draw(LABELS),
                params=draw(PARAMS),
                retries=draw(st.integers(0, 5)),
                retry_delay=draw(st.integers(0, 100)),
                timeout=draw(st.none() | st.integers(1, 3600)),
            )
        )
    spec = FlowSpec(
        name=draw(NAMES),
        tasks=tuple(tasks),
        display_name=draw(LABELS),
        description=draw(LABELS),
        params=draw(PARAMS),
    )
    spec = storage_order(spec)
    for index, task in enumerate(spec.tasks):
        for upstream in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)) if names else []:
            candidate = spec.replace_task(task.name, _with_dependency(spec.tasks[index], upstream))
            if not validate_flow(candidate, lambda path: None):
                spec = candidate
    return spec


def storage_order(spec):
    from flowforge_admin.definitions.spec import preorder

    return FlowSpec(
        name=spec.name,
        tasks=tuple(preorder(list(spec.tasks))),
        display_name=spec.display_name,
        description=spec.description,
        params=spec.params,
    )


def _with_dependency(task, upstream):
    return TaskSpec(**{**task.__dict__, "depends_on": (*task.depends_on, upstream)})


SCHEDULES = st.lists(
    st.builds(
        dict,
        name=NAMES,
        kind=st.just("daily"),
        at_time=st.times().map(lambda value: value.replace(microsecond=0)),
        params=PARAMS,
        is_paused=st.booleans(),
    ),
    max_size=2,
    unique_by=lambda item: item["name"],
)


def store_flow(spec, paused, schedules):
    flow, _ = store.write_flow(spec, origin=Flow.Origin.ADMIN)
    if paused:
        flow.is_paused = True
        flow.save()
    for item in schedules:
        FlowSchedule.objects.create(flow=flow, **item)


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=st.lists(flow_specs(), min_size=1, max_size=2, unique_by=lambda spec: spec.name), data=st.data())
def test_round_trip_of_random_flows(format_name, specs, data):
    """Any valid flows survive export -> empty database -> import -> export, exactly."""
    Flow.objects.all().delete()
    for spec in specs:
        assume(not validate_flow(spec, lambda path: None))
        store_flow(spec, data.draw(st.booleans()), data.draw(SCHEDULES))
    first = export(format_name)
    before = definitions()

    Flow.objects.all().delete()
    plan = import_file(first, format_name)

    assert plan.is_valid, [str(issue) for issue in plan.issues]
    assert definitions() == before
    assert same_file(format_name, export(format_name), first)
    # Once more: the same file now changes nothing.
    assert {change.status for change in import_file(first, format_name).flows} == {"unchanged"}


# ---------------------------------------------------------------- bad input


BAD_ROWS = [
    ("unknown column", [row(colour="red")], None, "colour", "unknown column 'colour'"),
    (
        "negative retries",
        [row(retries=-1)],
        1,
        "retries",
        "must be a whole number from 0 to 2147483647, not -1",
    ),
    ("text retries", [row(retries="three")], 1, "retries", "not 'three'"),
    (
        "negative timeout",
        [row(timeout="-5")],
        1,
        "timeout",
        "must be a whole number of seconds from 1 to 2147483647",
    ),
    ("text timeout", [row(timeout="soon")], 1, "timeout", "not 'soon'"),
    ("malformed params", [row(params="{'a': 1}")], 1, "params", "is not valid JSON"),
    ("params not an object", [row(params="[1]")], 1, "params", "must be a JSON object"),
    ("malformed flow params", [row(flow_params="{")], 1, "flow_params", "is not valid JSON"),
    (
        "duplicate task",
        [row(task="a"), row(task="b"), row(task="a")],
        3,
        "task",
        "used by more than one task",
    ),
    ("unknown parent", [row(task="a", parent="nowhere")], 1, "parent", "parent 'nowhere' is not a task"),
    ("unknown dependency", [row(task="a", depends_on="ghost")], 1, "depends_on", "'ghost' is not a task"),
    (
        "parent in another flow",
        [row(flow="one", task="g", function=""), row(flow="two", task="a", parent="g")],
        2,
        "parent",
        "parent 'g' is a task of flow 'one', not of 'two'",
    ),
    ("self dependency", [row(task="a", depends_on="a")], 1, "depends_on", "cannot depend on itself"),
    (
        "cycle",
        [row(task="a", depends_on="c"), row(task="b", depends_on="a"), row(task="c", depends_on="b")],
        1,
        "depends_on",
        "cycle: a -> b -> c -> a",
    ),
    ("os.system", [row(function="os.system")], 1, "function", "'os.system' is not an allowed task function"),
    ("subprocess.run", [row(function="subprocess.run")], 1, "function", "'subprocess.run' is not an allowed"),
    ("builtins.eval", [row(function="builtins.eval")], 1, "function", "'builtins.eval' is not an allowed"),
    ("not a path", [row(function="rm -rf /")], 1, "function", "is not a dotted path"),
    ("bad task name", [row(task="no spaces")], 1, "task", "may contain only letters"),
    ("no flow name", [row(flow="")], 1, "flow", "a flow name is required"),
    ("bad position", [row(position="first")], 1, "position", "must be a whole number >= 1"),
    ("bad paused", [row(flow_paused="maybe")], 1, "flow_paused", "must be true or false"),
    (
        "conflicting flow settings",
        [row(task="a", flow_display_name="A"), row(task="b", flow_display_name="B")],
        2,
        "flow_display_name",
        "differs from the value given on an earlier row",
    ),
    (
        "bad schedule",
        [row(flow_schedules=json.dumps([{"name": "s", "kind": "cron", "cron": "every day"}]))],
        1,
        "flow_schedules",
        "schedule 's', cron: 'every day' is not a valid cron expression",
    ),
    (
        "schedule params not an object",
        [row(flow_schedules=json.dumps([{"name": "s", "kind": "daily", "params": [1]}]))],
        1,
        "flow_schedules",
        "schedule 's', params: must be a JSON object",
    ),
    (
        "unknown schedule field",
        [row(flow_schedules=json.dumps([{"name": "s", "when": "now"}]))],
        1,
        "flow_schedules",
        "unknown field 'when'",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", ["json", "csv"])
@pytest.mark.parametrize(
    ("case", "rows", "row_number", "column", "message"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS]
)
def test_bad_rows_name_row_and_column_and_change_nothing(
    case, rows, row_number, column, message, format_name
):
    """Each bad input gets an error at its row and column; a valid flow in the same file is not written."""
    store_demo()
    before = snapshot()
    valid = flow_rows(FlowSpec(name="valid_flow", tasks=(TaskSpec(name="x"),)))
    content = rows_file([*rows, *valid], format_name)

    plan = import_file(content, format_name)

    assert not plan.is_valid
    assert any(
        issue.row == row_number and issue.column == column and message in issue.message
        for issue in plan.issues
    ), [str(issue) for issue in plan.issues]
    assert plan.flows == []
    assert snapshot() == before
    assert not Flow.objects.filter(name="valid_flow").exists()


def test_missing_required_column():
    content = rows_file([{"flow": "f", "task": "a", "parent": "", "function": ""}], "csv")
    issues = issues_of(content, "csv")
    assert [(issue.column, issue.message) for issue in issues] == [
        ("depends_on", "the required column 'depends_on' is missing")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "format_name", "message"),
    [
        (b"", "yaml", "the file is empty"),
        (b"   \n", "csv", "the file is empty"),
        (b"flow,task,parent,function,depends_on\n", "csv", "the file has no rows"),
        (b"[]", "json", "the file has no rows"),
        (b'{"flow": 1', "json", "the file is not valid JSON"),
        (b"- {flow: [", "yaml", "the file is not valid YAML"),
        (b'{"flow": "f"}', "json", "must hold a list of rows"),
        (b"[1, 2]", "json", "a row must be an object"),
        ("flow,task,parent,function,depends_on\nfl\u00f6w,a,,,\n".encode("latin-1"), "csv", "not UTF-8 text"),
        (b"PK\x03\x04 not really a zip", "xlsx", "not a readable XLSX workbook"),
        (b"!!python/object/apply:os.system ['echo hi']", "yaml", "the tag !!python/object/apply:os.system"),
    ],
)
def test_unreadable_files(content, format_name, message):
    """Files that cannot be read say why, as one issue; nothing is written."""
    issues = issues_of(content, format_name)
    assert len(issues) == 1
    assert message in issues[0].message
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_file_over_the_size_limit(settings):
    settings.FLOWFORGE_IMPORT_MAX_BYTES = 100
    content = rows_file([row(verbose_name="x" * 200)])
    issues = issues_of(content)
    assert "more than the limit of 100 bytes" in issues[0].message


@pytest.mark.django_db
def test_validation_never_imports_a_named_module(monkeypatch):
    """A module with an import-time side effect named in a file is refused without being imported."""
    monkeypatch.delitem(sys.modules, "tests.untrusted_tasks", raising=False)

    issues = issues_of(rows_file([row(function="tests.untrusted_tasks.run")]))

    assert "'tests.untrusted_tasks.run' is not an allowed task function" in issues[0].message
    assert (issues[0].row, issues[0].column) == (1, "function")
    assert "tests.untrusted_tasks" not in sys.modules


@pytest.mark.django_db
def test_module_outside_the_function_modules(settings):
    settings.FLOWFORGE_FUNCTION_MODULES = []
    issues = issues_of(rows_file([row(function=DEMO + "prepare_batch")]))
    assert "is not an allowed task function" in issues[0].message


# ---------------------------------------------------------------- preview


@pytest.mark.django_db
def test_preview_lists_added_changed_removed_tasks_and_dependency_changes():
    store_demo()
    rows = [dict(item) for item in json.loads(export("json"))]
    by_task = {item["task"]: item for item in rows}
    by_task["clean_data"]["retries"] = 4
    by_task["clean_data"]["depends_on"] = "fetch, extra"
    rows = [item for item in rows if item["task"] != "post_process"]
    rows.append(row(flow="demo_daily_report", task="extra", function=DEMO + "prepare_batch"))
    rows[0]["flow_schedules"] = json.dumps([{"name": "nightly", "kind": "daily", "at_time": "03:00:00"}])
    before = snapshot()

    plan = plan_import(json.dumps(rows).encode(), "json")

    assert plan.is_valid, plan.issues
    (change,) = plan.flows
    assert change.status == "changed"
    assert change.tasks_added == ["extra"]
    assert change.tasks_removed == ["post_process"]
    assert change.tasks_changed == [("clean_data", ["retries"])]
    assert change.deps_added == [("clean_data", "extra")]
    assert change.deps_removed == [("post_process", "analyse_data")]
    assert change.schedules_changed == ["nightly"]
    assert change.schedules_removed == ["every5"]
    assert "  tasks changed: clean_data (retries)" in plan.summary()
    assert snapshot() == before  # a preview writes nothing

    apply_plan(plan)

    flow = Flow.objects.get(name="demo_daily_report")
    assert flow.version == before["demo_daily_report"][3] + 1
    assert flow.origin == Flow.Origin.IMPORT
    assert list(flow.schedules.values_list("name", "at_time")) == [("nightly", datetime.time(3, 0))]
    assert Task.objects.get(flow=flow, name="clean_data").retries == 4


@pytest.mark.django_db
def test_absent_flow_columns_keep_the_stored_settings():
    """A file without flow settings columns leaves the label, paused state and schedules alone."""
    flow = store_demo()
    flow.is_paused = True
    flow.save()
    rows = [
        {key: item[key] for key in REQUIRED_COLUMNS if key in item} for item in json.loads(export("json"))
    ]

    plan = import_file(json.dumps(rows).encode(), "json")

    assert plan.is_valid, plan.issues
    flow.refresh_from_db()
    assert flow.display_name == "Daily report (built in admin)"
    assert flow.is_paused is True
    assert flow.schedules.count() == 2


@pytest.mark.django_db
def test_xlsx_keeps_text_starting_with_equals_as_text():
    """A label like '=1+2' is exported as text (no formula) and comes back as written."""
    from tests.conftest import make_flow

    make_flow("f", [TaskSpec(name="a", verbose_name="=HYPERLINK(1)")])
    content = export("xlsx")
    Flow.objects.all().delete()
    assert import_file(content, "xlsx").is_valid
    assert Task.objects.get(name="a").verbose_name == "=HYPERLINK(1)"


# ---------------------------------------------------------------- fuzzing


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    format_name=st.sampled_from(FORMATS),
    content=st.binary(max_size=300)
    | st.text(max_size=300).map(str.encode)
    | st.lists(
        st.dictionaries(
            st.sampled_from([*COLUMNS, "x"]),
            st.none() | st.integers() | st.text(max_size=8) | st.lists(st.text(max_size=3), max_size=2),
            max_size=8,
        ),
        max_size=4,
    ).map(lambda rows: json.dumps(rows).encode()),
)
def test_garbage_never_raises_and_never_writes(format_name, content):
    """Whatever the bytes, the importer returns issues or a valid plan; a bad file writes nothing."""
    Flow.objects.all().delete()
    plan = import_file(content, format_name)
    if not plan.is_valid:
        assert not Flow.objects.exists()
        assert all(str(issue) for issue in plan.issues)


# ---------------------------------------------------------------- the django-import-export resource


@pytest.mark.django_db
def test_resource_import_data_reports_invalid_rows_by_column_and_writes_nothing():
    from flowforge_admin.definitions.files.resource import FlowDefinitionResource

    dataset = tablib.Dataset(headers=["flow", "task", "parent", "function", "depends_on", "retries"])
    dataset.append(["f", "a", "", DEMO + "prepare_batch", "", "1"])
    dataset.append(["f", "b", "", "subprocess.run", "a", "-3"])

    result = FlowDefinitionResource().import_data(dataset, dry_run=False)

    assert result.has_validation_errors()
    assert {(row.number, key) for row in result.invalid_rows for key in row.field_specific_errors} == {
        (2, "function"),
        (2, "retries"),
    }
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_resource_export_then_import_data():
    from flowforge_admin.definitions.files.resource import FlowDefinitionResource

    store_demo()
    dataset = FlowDefinitionResource().export()
    assert dataset.headers == COLUMNS
    Flow.objects.all().delete()

    dry = FlowDefinitionResource().import_data(dataset, dry_run=True)
    assert not dry.has_errors()
    assert not dry.has_validation_errors()
    assert [change.status for change in dry.plan.flows] == ["created"]
    assert not Flow.objects.exists()

    FlowDefinitionResource().import_data(dataset, dry_run=False)
    assert Flow.objects.get(name="demo_daily_report").tasks.count() == 6


@pytest.mark.django_db
def test_reordered_siblings_show_as_position_changes_and_are_written():
    from tests.conftest import make_flow

    make_flow("f", [TaskSpec(name="a"), TaskSpec(name="b"), TaskSpec(name="c")])
    rows = [
        row(task="a", function="", position=3),
        row(task="b", function="", position=1),
        row(task="c", function="", position=2),
    ]

    plan = import_file(rows_file(rows), "json")

    assert plan.flows[0].tasks_changed == [("b", ["position"]), ("c", ["position"]), ("a", ["position"])]
    assert [task.name for task in store.read_flow_spec(Flow.objects.get(name="f")).tasks] == ["b", "c", "a"]
    assert Flow.objects.get(name="f").version == 2
