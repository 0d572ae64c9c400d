"""`manage.py list_runs [--flow NAME] [--status S] [--limit N] [--json]`: newest first, one query."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.models import FlowRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(django_capture_on_commit_callbacks, admin_user):
    """Three runs of "one" (succeeded, failed, queued by a user) and one of "two", oldest first."""
    one = register_task_pipeline("one", {"echo": {"function": t.echo}})
    two = register_task_pipeline("two", {"boom": {"function": t.fail}})
    with django_capture_on_commit_callbacks(execute=True):
        made = [run_flow(one), run_flow(two), run_flow(one)]
    made.append(launch_flow(one, triggered_by=admin_user))
    start = timezone.now() - datetime.timedelta(hours=1)
    for number, run in enumerate(made):
        FlowRun.objects.filter(pk=run.pk).update(created_at=start + datetime.timedelta(minutes=number))
    return made


def list_runs(*args):
    out = StringIO()
    call_command("list_runs", *args, stdout=out)
    return out.getvalue()


def test_the_table_is_aligned_newest_first_in_one_query(runs):
    with CaptureQueriesContext(connection) as queries:
        lines = list_runs().splitlines()
    assert len(queries) == 1
    header, *rows = lines
    assert header.split() == [
        "id",
        "flow",
        "status",
        "trigger",
        "logical",
        "date",
        "started",
        "finished",
        "duration",
    ]
    assert [row.split()[:4] for row in rows] == [
        [str(runs[3].pk), "one", "queued", "user"],
        [str(runs[2].pk), "one", "succeeded", "code"],
        [str(runs[1].pk), "two", "failed", "code"],
        [str(runs[0].pk), "one", "succeeded", "code"],
    ]
    assert rows[0].split()[4] == "admin"
    # Aligned: every column starts at the header's offset.
    for title in ("flow", "status", "trigger", "logical", "started"):
        offset = header.index(title)
        assert all(row[offset - 2 : offset] == "  " and row[offset] != " " for row in rows)


def test_filters_and_the_limit(runs):
    rows = list_runs("--flow", "one", "--status", "succeeded", "--limit", "1").splitlines()[1:]
    assert [row.split()[0] for row in rows] == [str(runs[2].pk)]
    assert list_runs("--flow", "two", "--status", "queued") == "No runs.\n"


def test_json_is_a_list_of_objects_with_iso_dates(runs):
    items = json.loads(list_runs("--json", "--limit", "2"))
    assert [item["id"] for item in items] == [runs[3].pk, runs[2].pk]
    queued, succeeded = items
    assert (queued["status"], queued["trigger"], queued["user"], queued["started"]) == (
        "queued",
        "user",
        "admin",
        None,
    )
    assert queued["duration_seconds"] is None
    assert succeeded["flow"] == "one"
    assert datetime.datetime.fromisoformat(succeeded["finished"]) >= datetime.datetime.fromisoformat(
        succeeded["started"]
    )
    assert succeeded["duration_seconds"] >= 0
    assert succeeded["url"] == f"/admin/flowforge_admin/flowrun/{runs[2].pk}/change/"
    assert json.loads(list_runs("--json", "--status", "cancelled")) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--flow", "nope"], "--flow 'nope': there is no flow (nor any run of a flow) of that name"),
        (
            ["--status", "done"],
            "--status 'done' is not a run status (one of queued, running, succeeded, failed, cancelled)",
        ),
        (["--limit", "0"], "--limit '0' is not a positive whole number"),
    ],
)
def test_bad_input_exits_2_with_the_message(runs, args, message):
    with pytest.raises(CommandError) as caught:
        list_runs(*args)
    assert (caught.value.returncode, str(caught.value)) == (2, message)
