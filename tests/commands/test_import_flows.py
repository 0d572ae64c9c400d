"""``manage.py import_flows``: summary, --dry-run, format detection, exit codes, atomicity."""

import json
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.models import Flow
from tests.conftest import chain_tasks, make_flow, task_row

pytestmark = pytest.mark.django_db


def run(*argv):
    """Run the command as from a shell; return (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("import_flows", *argv, stdout=out, stderr=err)
    except CommandError as error:  # its returncode is the exit code
        code = getattr(error, "returncode", None)
        err.write(str(error))
    return code, out.getvalue(), err.getvalue()


def exit_code(*argv):
    """The exit code ``manage.py import_flows`` would give: run_from_argv exits with a CommandError's returncode.

    (Not run through run_from_argv itself: it closes the test database's connection.)
    """
    try:
        call_command("import_flows", *argv, stdout=StringIO(), stderr=sys.stderr)
    except CommandError as error:
        sys.stderr.write(str(error))
        return error.returncode
    return 0


def write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(json.dumps(rows))
    return str(path)


def test_creates_and_prints_summary(tmp_path):
    path = write(tmp_path, "flows.json", [task_row("new", "a"), task_row("new", "b", depends_on="a")])

    code, out, _ = run(path)

    assert code == 0
    assert "created new" in out
    assert "  tasks added: a, b" in out
    assert "  dependencies added: b <- a" in out
    assert "1 flow(s) created, 0 changed, 0 unchanged." in out
    assert Flow.objects.get(name="new").origin == Flow.Origin.IMPORT


def test_dry_run_writes_nothing(tmp_path):
    path = write(tmp_path, "flows.json", [task_row("new", "a")])

    code, out, _ = run(path, "--dry-run")

    assert code == 0
    assert "created new" in out
    assert "dry run: nothing was written." in out
    assert not Flow.objects.exists()


def test_changed_and_unchanged(tmp_path):
    make_flow("kept", chain_tasks(2))
    make_flow("edited", chain_tasks(2))
    content = json.loads(export_flows(Flow.objects.all(), "json"))
    for row in content:
        if row["flow"] == "edited" and row["task"] == "t1":
            row["retries"] = 3
    path = write(tmp_path, "flows.json", content)

    code, out, _ = run(path)

    assert code == 0
    assert "changed edited\n  tasks changed: t1 (retries)" in out
    assert "unchanged kept" in out
    assert Flow.objects.get(name="edited").version == 2
    assert Flow.objects.get(name="kept").version == 1


def test_error_exits_1_names_row_and_column_and_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, "flows.json", [task_row("new", "a"), task_row("new", "b", function="os.system")])

    assert exit_code(path) == 1

    err = capsys.readouterr().err
    assert "row 2, column 'function': flow 'new', task 'b', function: 'os.system' is not an allowed" in err
    assert "1 error(s); nothing was imported" in err
    assert not Flow.objects.exists()


def test_dry_run_of_a_bad_file_exits_1(tmp_path):
    path = write(tmp_path, "flows.json", [task_row("new", "a", retries=-1)])
    assert exit_code(path, "--dry-run") == 1


def test_valid_file_exits_0(tmp_path):
    path = write(tmp_path, "flows.json", [task_row("new", "a")])
    assert exit_code(path) == 0
    assert Flow.objects.filter(name="new").exists()


def test_format_option_overrides_extension(tmp_path):
    path = tmp_path / "flows.txt"
    path.write_text("flow,task,parent,function,depends_on\nnew,a,,,\n")

    assert run(str(path))[0] == 1  # unknown extension
    code, out, _ = run(str(path), "--format", "csv")

    assert code == 0, out
    assert Flow.objects.filter(name="new").exists()


def test_missing_file_exits_1(tmp_path):
    code, _, err = run(str(tmp_path / "nope.yaml"))
    assert code == 1
    assert "cannot read" in err


def test_over_the_size_limit(tmp_path, settings):
    settings.FLOWFORGE_IMPORT_MAX_BYTES = 10
    path = write(tmp_path, "flows.json", [task_row("new", "a")])
    code, _, err = run(path)
    assert code == 1
    assert "more than the limit of 10 bytes" in err


def test_demo_fixtures_import(sync_flows):
    """The quick start's files: both import the demo flow; the second one finds nothing to change."""
    from django.conf import settings

    code, out, _ = run(str(settings.BASE_DIR / "fixtures" / "demo_flows.yaml"))
    assert code == 0
    assert "created demo_daily_report" in out
    code, out, _ = run(str(settings.BASE_DIR / "fixtures" / "demo_flows.json"))
    assert code == 0
    assert "unchanged demo_daily_report" in out
