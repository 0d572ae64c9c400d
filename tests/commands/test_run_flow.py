"""`manage.py run_flow NAME [--param KEY=VALUE ...] [--wait]` without a worker: enqueue and exit codes."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_q.models import OrmQ

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.management.commands.run_flow import parse_param
from flowforge_admin.models import FlowRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return register_task_pipeline("cli", {"echo": {"function": t.echo}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n=3", ("n", 3)),
        ("ratio=0.5", ("ratio", 0.5)),
        ("flag=true", ("flag", True)),
        ("items=[1, 2]", ("items", [1, 2])),
        ('obj={"a": 1}', ("obj", {"a": 1})),
        ("name=hello world", ("name", "hello world")),
        ("empty=", ("empty", "")),
        ("expr=a=b", ("expr", "a=b")),
    ],
)
def test_param_values_are_json_else_strings(text, expected):
    assert parse_param(text) == expected


def test_without_wait_it_enqueues_and_prints_the_run(flow, django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_flow", "cli", "--param", "n=3", "--param", "who=me", stdout=out)
    run = FlowRun.objects.get()
    assert run.params == {"n": 3, "who": "me"}
    assert (
        out.getvalue().strip()
        == f"run {run.pk} of cli queued: /admin/flowforge_admin/flowrun/{run.pk}/change/"
    )
    assert OrmQ.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "there is no flow named 'nope'"),
        (["cli", "--param", "novalue"], "--param 'novalue' is not KEY=VALUE"),
        (["cli", "--param", "not-an-identifier=1"], "parameter names must be Python identifiers"),
    ],
)
def test_bad_input_exits_2_and_creates_nothing(flow, args, message):
    with pytest.raises(CommandError, match=message) as raised:
        call_command("run_flow", *args)
    assert raised.value.returncode == 2
    assert not FlowRun.objects.exists()


def test_paused_flow_exits_2(flow):
    flow.is_paused = True
    flow.save()
    with pytest.raises(CommandError, match="is paused") as raised:
        call_command("run_flow", "cli")
    assert raised.value.returncode == 2
