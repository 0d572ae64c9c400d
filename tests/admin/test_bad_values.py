"""Values that used to pass the checks and break later are refused at every entrance, with a message.

NaN, Infinity and 1e400 (JSON has no such numbers), JSON nested too deep or too
large to store, integers beyond the columns' range, cron expressions that never
fire: each answers 200 with the message in the admin, an issue in an import
and exit 2 from ``run_flow``, and changes nothing. The same file runs on
PostgreSQL (tests/test_postgresql.py), where most of these used to be a 500.
"""

import datetime
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_q.models import Schedule

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.rules import COUNT_MAX
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.forms.launch import EXTRA
from flowforge_admin.models import Flow, FlowRun, FlowSchedule, Task

from .. import engine_tasks as t
from ..conftest import schedule_form_data, task_row

pytestmark = pytest.mark.django_db

# JSON text as a person or a file may give it, and the words of the refusal.
BAD_JSON = {
    "NaN": ("NaN", "NaN is not a number JSON can hold"),
    "Infinity": ("Infinity", "Infinity is not a number JSON can hold"),
    "-Infinity": ("-Infinity", "-Infinity is not a number JSON can hold"),
    "1e400": ("1e400", "Infinity is not a number JSON can hold"),
    "deep": ("[" * 40 + "]" * 40, "nested deeper than 32 levels"),
    "very deep": ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    "large": (json.dumps("x" * 70_000), "more than the limit of 65536 bytes"),
    "digits": ("9" * 5000, "too many digits"),
    "NUL": (json.dumps("a\u0000b"), "NUL character"),
}
CASES = pytest.mark.parametrize(("text", "message"), BAD_JSON.values(), ids=list(BAD_JSON))
# Import files check nesting while reading, before the value is built (definitions.files.reading.MAX_DEPTH).
IMPORT_WORDS = {"nested too deeply": "nested more than 64 levels deep"}


@pytest.fixture
def flow():
    return register_task_pipeline("vals", {"ok": {"function": t.echo}})


def field_errors(response, field):
    assert response.status_code == 200, "the form was accepted"
    form = response.context["adminform"].form if "adminform" in response.context else response.context["form"]
    return " ".join(form.errors.get(field, []))


def import_rows(rows):
    return import_file(json.dumps(rows).encode(), "json")


def import_messages(plan):
    return " ".join(str(issue) for issue in plan.issues)


# JSON values -------------------------------------------------------------------


@CASES
def test_flow_form_refuses_them_in_params(editor_client, text, message):
    response = editor_client.post(
        reverse("admin:flowforge_admin_flow_add"),
        {"name": "etl", "display_name": "", "description": "", "params": f'{{"x": {text}}}'},
    )
    assert message in field_errors(response, "params")
    assert not Flow.objects.exists()


@CASES
def test_launch_form_refuses_them_in_other_parameters(operator_client, flow, text, message):
    response = operator_client.post(
        reverse("admin:flowforge_admin_flow_launch", args=[flow.pk]), {EXTRA: f'{{"x": {text}}}'}
    )
    assert message in field_errors(response, EXTRA)
    assert not FlowRun.objects.exists()


@CASES
def test_schedule_form_refuses_them_in_params(editor_client, flow, text, message):
    response = editor_client.post(
        reverse("admin:flowforge_admin_flowschedule_add"),
        schedule_form_data(flow, params=f'{{"x": {text}}}'),
    )
    assert message in field_errors(response, "params")
    assert not FlowSchedule.objects.exists()


@CASES
@pytest.mark.parametrize("column", ["params", "flow_params"])
def test_import_refuses_them_in_params(column, text, message):
    plan = import_rows([task_row(**{column: f'{{"x": {text}}}'})])
    assert IMPORT_WORDS.get(message, message) in import_messages(plan)
    assert {issue.column for issue in plan.issues} == {column}
    assert not Flow.objects.exists()


@CASES
def test_import_refuses_them_in_schedule_params(text, message):
    schedules = f'[{{"name": "s", "kind": "daily", "params": {{"x": {text}}}}}]'
    plan = import_rows([task_row(flow_schedules=schedules)])
    assert IMPORT_WORDS.get(message, message) in import_messages(plan)
    assert not Flow.objects.exists()


@CASES
def test_run_flow_exits_2_with_the_message(flow, text, message):
    with pytest.raises(CommandError, match=message) as raised:
        call_command("run_flow", "vals", "--param", f"x={text}")
    assert raised.value.returncode == 2
    assert not FlowRun.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"x": float("nan")}, "NaN is not a number JSON can hold"),
        ({"x": [1, {"y": float("-inf")}]}, "x[1].y: -Infinity"),
        ({"x": "\ud800"}, "lone surrogate"),
        ({"x": {1, 2}}, "a set is not a JSON value"),
    ],
)
def test_registration_refuses_them_in_flow_and_task_params(value, message):
    with pytest.raises(FlowDefinitionError, match="flow 'vals', params: ") as raised:
        register_task_pipeline("vals", {"ok": {"function": t.echo}}, params=value)
    assert message in str(raised.value)
    with pytest.raises(FlowDefinitionError, match="task 'ok', params: ") as raised:
        register_task_pipeline("vals", {"ok": {"function": t.echo, "params": value}})
    assert message in str(raised.value)
    assert not Flow.objects.exists()


# Integers beyond the columns ---------------------------------------------------------

TOO_BIG = [COUNT_MAX + 1, 2**63]


@pytest.mark.parametrize("value", TOO_BIG)
@pytest.mark.parametrize("field", ["retries", "retry_delay", "timeout"])
def test_registration_and_import_refuse_counts_beyond_the_column(field, value):
    with pytest.raises(FlowDefinitionError, match=f"{field}: must be a whole number.* to {COUNT_MAX}"):
        register_task_pipeline("vals", {"ok": {"function": t.echo, field: value}})
    plan = import_rows([task_row(**{field: value})])
    assert f"to {COUNT_MAX}" in import_messages(plan)
    assert f"not {value}" in import_messages(plan)
    assert not Flow.objects.exists()


@pytest.mark.parametrize("value", TOO_BIG)
def test_task_form_refuses_counts_beyond_the_column(editor_client, flow, value):
    task = Task.objects.get(flow=flow, name="ok")
    response = editor_client.post(
        reverse("admin:flowforge_admin_task_change", args=[task.pk]),
        {
            "flow": flow.pk,
            "name": "ok",
            "function": task.function,
            "params": "{}",
            "retries": str(value),
            "retry_delay": "0",
            "timeout": "",
        },
    )
    assert str(COUNT_MAX) in field_errors(response, "retries")
    task.refresh_from_db()
    assert task.retries == 0


@pytest.mark.parametrize("value", [32768, COUNT_MAX + 1, 2**63])
def test_every_minutes_beyond_django_q2s_column_is_refused(editor_client, flow, value):
    response = editor_client.post(
        reverse("admin:flowforge_admin_flowschedule_add"),
        schedule_form_data(flow, kind="minutes", every_minutes=str(value)),
    )
    assert "from 1 to 32767" in field_errors(response, "every_minutes")
    schedules = f'[{{"name": "s", "kind": "minutes", "every_minutes": {value}}}]'
    assert "from 1 to 32767" in import_messages(import_rows([task_row(flow_schedules=schedules)]))
    assert not FlowSchedule.objects.exists()
    assert not Schedule.objects.filter(name__startswith="flowforge schedule").exists()


def test_every_minutes_at_the_limit_is_stored(editor_client, flow):
    response = editor_client.post(
        reverse("admin:flowforge_admin_flowschedule_add"),
        schedule_form_data(flow, kind="minutes", every_minutes="32767"),
    )
    assert response.status_code == 302
    assert FlowSchedule.objects.get().q_schedule.minutes == 32767


# Cron and one-off times -------------------------------------------------------------


@pytest.mark.parametrize("cron", ["0 0 31 2 *", "* * 31 4 *", "0 0 30 2 *"])
def test_a_cron_that_never_fires_is_refused_and_not_described_as_valid(editor_client, flow, cron):
    response = editor_client.post(
        reverse("admin:flowforge_admin_flowschedule_add"), schedule_form_data(flow, kind="cron", cron=cron)
    )
    assert f"{cron!r} never fires: no date matches it" in field_errors(response, "cron")
    assert not FlowSchedule.objects.exists()


def test_the_when_preview_of_a_refused_change_says_it_never_fires(editor_client, flow):
    schedule = FlowSchedule.objects.create(flow=flow, name="s", kind="cron", cron="0 2 * * *")
    response = editor_client.post(
        reverse("admin:flowforge_admin_flowschedule_change", args=[schedule.pk]),
        schedule_form_data(flow, name="s", kind="cron", cron="0 0 31 2 *"),
    )
    assert response.status_code == 200
    page = response.text
    assert "never: &#x27;0 0 31 2 *&#x27; never fires" in page
    assert "At 00:00, on day 31 of the month, only in February" not in page
    assert "class='ff-fire-times'" not in page
    schedule.refresh_from_db()
    assert schedule.cron == "0 2 * * *"


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("60 * * * *", "the minute field '60' is not valid (0-59)"),
        ("0 25 * * *", "the hour field '25' is not valid (0-23)"),
        ("* * * * 8", "the day-of-week field '8' is not valid (0-6 or SUN-SAT)"),
        ("0 2 * *", "it has 4 field(s); give five"),
    ],
)
def test_a_bad_cron_names_the_field_and_says_five_fields_only_when_not_five(
    editor_client, flow, cron, message
):
    response = editor_client.post(
        reverse("admin:flowforge_admin_flowschedule_add"), schedule_form_data(flow, kind="cron", cron=cron)
    )
    errors = field_errors(response, "cron")
    assert message in errors
    assert ("give five" in errors) is (len(cron.split()) != 5)


def test_import_refuses_a_one_off_time_without_a_time_zone():
    schedules = '[{"name": "s", "kind": "once", "run_at": "2099-01-01T02:00:00"}]'
    plan = import_rows([task_row(flow_schedules=schedules)])
    assert "2099-01-01T02:00:00 has no time zone" in import_messages(plan)
    assert not Flow.objects.exists()


def test_import_accepts_a_one_off_time_with_a_time_zone():
    schedules = '[{"name": "s", "kind": "once", "run_at": "2099-01-01T02:00:00Z"}]'
    plan = import_rows([task_row(flow_schedules=schedules)])
    assert plan.is_valid, plan.issues
    assert FlowSchedule.objects.get().run_at == datetime.datetime(2099, 1, 1, 2, tzinfo=datetime.UTC)


# Names and schemas -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["a\u0000b", "\ud800", "x" * 500])
def test_run_flow_with_a_name_no_flow_can_have_exits_2(flow, name):
    with pytest.raises(CommandError, match="there is no flow named") as raised:
        call_command("run_flow", name)
    assert raised.value.returncode == 2


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"$ref": "#/$defs/nope"}, "cannot be used: the reference &#x27;#/$defs/nope&#x27; leads nowhere"),
        ({"$ref": "#"}, "cannot be used: a $ref leads back to itself"),
    ],
)
def test_flow_form_refuses_a_schema_that_cannot_be_used(editor_client, schema, message):
    response = editor_client.post(
        reverse("admin:flowforge_admin_flow_add"),
        {
            "name": "etl",
            "display_name": "",
            "description": "",
            "params": "{}",
            "params_schema": json.dumps(schema),
        },
    )
    assert response.status_code == 200
    assert message in response.text
    assert not Flow.objects.exists()
