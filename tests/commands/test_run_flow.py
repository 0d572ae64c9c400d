"""`manage.py run_flow NAME [--param KEY=VALUE ...] [--logical-date ISO8601] [--wait] [--user USERNAME]` without a worker: enqueue and exit codes."""

import datetime
from io import StringIO

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.management import CommandError, call_command
from django_q.models import OrmQ

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.management.commands.run_flow import parse_param
from flowforge_admin.models import FlowRun, RunEvent

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
        (["cli", "--logical-date", "yesterday"], "--logical-date 'yesterday' is not an ISO 8601 date"),
        (["cli", "--logical-date", "2026-02-30"], "--logical-date '2026-02-30' is not an ISO 8601 date"),
    ],
)
def test_bad_input_exits_2_and_creates_nothing(flow, args, message):
    with pytest.raises(CommandError, match=message) as raised:
        call_command("run_flow", *args)
    assert raised.value.returncode == 2
    assert not FlowRun.objects.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", "2026-01-31T00:00:00+00:00"),
        ("2026-01-31T06:30:00Z", "2026-01-31T06:30:00+00:00"),
        ("2026-01-31T06:30:00+02:00", "2026-01-31T04:30:00+00:00"),
    ],
)
def test_logical_date_sets_the_run_s_logical_date(flow, text, expected):
    call_command("run_flow", "cli", "--logical-date", text, stdout=StringIO())
    run = FlowRun.objects.get()
    assert run.logical_date.astimezone(datetime.UTC).isoformat() == expected


def test_paused_flow_exits_2(flow):
    flow.is_paused = True
    flow.save()
    with pytest.raises(CommandError, match="is paused") as raised:
        call_command("run_flow", "cli")
    assert raised.value.returncode == 2


def test_with_user_the_launch_is_theirs_and_in_the_admin_log(flow, role_user):
    operator = role_user("Operator")
    call_command("run_flow", "cli", "--param", "n=3", "--user", "operator", stdout=StringIO())
    run = FlowRun.objects.get()
    assert (run.triggered_by, run.triggered_by_user) == (FlowRun.Trigger.USER, operator)
    message = 'Launched by manage.py run_flow with parameters {"n": 3}.'
    entries = LogEntry.objects.order_by("pk").values_list(
        "user__username", "content_type__model", "action_flag", "change_message"
    )
    assert list(entries) == [
        ("operator", "flowrun", ADDITION, message),
        ("operator", "flow", CHANGE, f'Launched run #{run.pk} with parameters {{"n": 3}}.'),
    ]
    assert list(run.events.values_list("user__username", "action", "message")) == [
        ("operator", "launch", message)
    ]


def test_without_user_the_run_is_triggered_by_code_and_recorded_in_its_history_only(flow):
    call_command("run_flow", "cli", stdout=StringIO())
    run = FlowRun.objects.get()
    assert (run.triggered_by, run.triggered_by_user) == (FlowRun.Trigger.CODE, None)
    assert list(run.events.values_list("user", "message")) == [
        (None, "Launched by manage.py run_flow with parameters {}.")
    ]
    assert not LogEntry.objects.exists()


def test_an_unknown_user_exits_2_and_creates_nothing(flow):
    with pytest.raises(CommandError, match="--user 'nobody': no such user") as raised:
        call_command("run_flow", "cli", "--user", "nobody")
    assert raised.value.returncode == 2
    assert not FlowRun.objects.exists()


def test_a_user_who_may_not_launch_exits_2_and_creates_nothing(flow, role_user):
    role_user("Stakeholder")
    with pytest.raises(CommandError, match="flowforge_admin.launch_flow is needed") as raised:
        call_command("run_flow", "cli", "--user", "stakeholder")
    assert raised.value.returncode == 2
    assert not FlowRun.objects.exists()
    assert not RunEvent.objects.exists()
    assert not LogEntry.objects.exists()
