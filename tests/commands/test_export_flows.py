"""``manage.py export_flows``: formats, stable output, flow selection and exit codes."""

import json
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from flowforge_admin.definitions.files.columns import COLUMNS
from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.definitions.files.preview import plan_import
from flowforge_admin.models import Flow
from tests.conftest import chain_tasks, make_flow

pytestmark = pytest.mark.django_db


def export(*args, **options):
    out, err = StringIO(), StringIO()
    call_command("export_flows", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def exit_code(*argv):
    """The exit code ``manage.py export_flows`` would give: run_from_argv exits with a CommandError's returncode.

    (Not run through run_from_argv itself: it closes the test database's connection.)
    """
    try:
        call_command("export_flows", *argv, stdout=StringIO(), stderr=sys.stderr)
    except CommandError as error:
        sys.stderr.write(str(error))
        return error.returncode
    return 0


@pytest.fixture
def flows():
    make_flow("beta", chain_tasks(3))
    make_flow("alpha", chain_tasks(2, prefix="a"))


@pytest.mark.usefixtures("flows")
class TestExportFlows:
    def test_default_is_yaml_on_stdout_ordered_by_flow(self):
        out, _ = export()
        assert out == export_flows(Flow.objects.all(), "yaml").decode()
        assert out.index("flow: alpha") < out.index("flow: beta")
        assert out.startswith("- flow: alpha\n")

    def test_same_database_same_bytes(self):
        assert export(format="json")[0] == export(format="json")[0]

    def test_named_flows_only(self):
        out, _ = export("beta", format="json")
        assert {row["flow"] for row in json.loads(out)} == {"beta"}
        assert [row["task"] for row in json.loads(out)] == ["t0", "t1", "t2"]

    def test_csv(self):
        out, _ = export(format="csv")
        assert out.splitlines()[0] == ",".join(COLUMNS)
        assert len(out.splitlines()) == 1 + 5

    def test_xlsx_needs_output(self, capsys):
        assert exit_code("--format", "xlsx") == 1
        assert "give --output FILE" in capsys.readouterr().err

    def test_xlsx_to_file(self, tmp_path):
        path = tmp_path / "flows.xlsx"
        _, err = export(format="xlsx", output=str(path))
        assert "exported 2 flow(s)" in err
        assert plan_import(path.read_bytes(), "xlsx").is_valid

    def test_unknown_flow_exits_1(self, capsys):
        assert exit_code("nope") == 1
        assert "no such flow: nope" in capsys.readouterr().err

    def test_unknown_format_is_refused(self, capsys):
        assert exit_code("--format", "xml") == 1
        assert "invalid choice: 'xml'" in capsys.readouterr().err
