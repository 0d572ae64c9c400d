"""Bad import files: each problem named at its row and column, nothing written; fuzzed files never raise."""

import json
import sys

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowforge_admin.definitions.files.columns import COLUMNS
from flowforge_admin.definitions.files.export import flow_rows
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.models import Flow
from tests.conftest import DEMO, task_row

from .conftest import FORMATS, issues_of, rows_file, snapshot, store_demo

BAD_ROWS = [
    ("unknown column", [task_row(colour="red")], None, "colour", "unknown column 'colour'"),
    (
        "negative retries",
        [task_row(retries=-1)],
        1,
        "retries",
        "must be a whole number from 0 to 2147483647, not -1",
    ),
    ("text retries", [task_row(retries="three")], 1, "retries", "not 'three'"),
    (
        "negative timeout",
        [task_row(timeout="-5")],
        1,
        "timeout",
        "must be a whole number of seconds from 1 to 2147483647",
    ),
    ("text timeout", [task_row(timeout="soon")], 1, "timeout", "not 'soon'"),
    ("malformed params", [task_row(params="{'a': 1}")], 1, "params", "is not valid JSON"),
    ("params not an object", [task_row(params="[1]")], 1, "params", "must be a JSON object"),
    ("malformed flow params", [task_row(flow_params="{")], 1, "flow_params", "is not valid JSON"),
    (
        "duplicate task",
        [task_row(task="a"), task_row(task="b"), task_row(task="a")],
        3,
        "task",
        "used by more than one task",
    ),
    ("unknown parent", [task_row(task="a", parent="nowhere")], 1, "parent", "parent 'nowhere' is not a task"),
    (
        "unknown dependency",
        [task_row(task="a", depends_on="ghost")],
        1,
        "depends_on",
        "'ghost' is not a task",
    ),
    (
        "parent in another flow",
        [task_row(flow="one", task="g", function=""), task_row(flow="two", task="a", parent="g")],
        2,
        "parent",
        "parent 'g' is a task of flow 'one', not of 'two'",
    ),
    ("self dependency", [task_row(task="a", depends_on="a")], 1, "depends_on", "cannot depend on itself"),
    (
        "cycle",
        [
            task_row(task="a", depends_on="c"),
            task_row(task="b", depends_on="a"),
            task_row(task="c", depends_on="b"),
        ],
        1,
        "depends_on",
        "cycle: a -> b -> c -> a",
    ),
    (
        "os.system",
        [task_row(function="os.system")],
        1,
        "function",
        "'os.system' is not an allowed task function",
    ),
    (
        "subprocess.run",
        [task_row(function="subprocess.run")],
        1,
        "function",
        "'subprocess.run' is not an allowed",
    ),
    (
        "builtins.eval",
        [task_row(function="builtins.eval")],
        1,
        "function",
        "'builtins.eval' is not an allowed",
    ),
    ("not a path", [task_row(function="rm -rf /")], 1, "function", "is not a dotted path"),
    ("bad task name", [task_row(task="no spaces")], 1, "task", "may contain only letters"),
    ("no flow name", [task_row(flow="")], 1, "flow", "a flow name is required"),
    ("bad position", [task_row(position="first")], 1, "position", "must be a whole number >= 1"),
    ("bad paused", [task_row(flow_paused="maybe")], 1, "flow_paused", "must be true or false"),
    (
        "conflicting flow settings",
        [task_row(task="a", flow_display_name="A"), task_row(task="b", flow_display_name="B")],
        2,
        "flow_display_name",
        "differs from the value given on an earlier row",
    ),
    (
        "bad schedule",
        [task_row(flow_schedules=json.dumps([{"name": "s", "kind": "cron", "cron": "every day"}]))],
        1,
        "flow_schedules",
        "schedule 's', cron: 'every day' is not a valid cron expression",
    ),
    (
        "schedule params not an object",
        [task_row(flow_schedules=json.dumps([{"name": "s", "kind": "daily", "params": [1]}]))],
        1,
        "flow_schedules",
        "schedule 's', params: must be a JSON object",
    ),
    (
        "unknown schedule field",
        [task_row(flow_schedules=json.dumps([{"name": "s", "when": "now"}]))],
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
    content = rows_file([task_row(verbose_name="x" * 200)])
    issues = issues_of(content)
    assert "more than the limit of 100 bytes" in issues[0].message


@pytest.mark.django_db
def test_validation_never_imports_a_named_module(monkeypatch):
    """A module with an import-time side effect named in a file is refused without being imported."""
    monkeypatch.delitem(sys.modules, "tests.untrusted_tasks", raising=False)

    issues = issues_of(rows_file([task_row(function="tests.untrusted_tasks.run")]))

    assert "'tests.untrusted_tasks.run' is not an allowed task function" in issues[0].message
    assert (issues[0].row, issues[0].column) == (1, "function")
    assert "tests.untrusted_tasks" not in sys.modules


@pytest.mark.django_db
def test_module_outside_the_function_modules(settings):
    settings.FLOWFORGE_FUNCTION_MODULES = []
    issues = issues_of(rows_file([task_row(function=DEMO + "prepare_batch")]))
    assert "is not an allowed task function" in issues[0].message


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
