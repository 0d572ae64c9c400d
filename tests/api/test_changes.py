"""Launching and controlling runs through the API: the actions' checks, words and records, as the admin's buttons."""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.urls import reverse

from flowforge_admin import api
from flowforge_admin.api import register_task_pipeline
from flowforge_admin.forms.launch import LaunchForm
from flowforge_admin.models import Flow, FlowRun

from .. import engine_tasks as t
from ..actions.conftest import events_of, log_of
from ..actions.test_runs import without_id
from .conftest import url

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "enum": ["eu", "us"]},
        "batch_size": {"type": "integer", "minimum": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["region"],
}


@pytest.fixture
def typed_flow(db):
    return register_task_pipeline(
        "typed", {"load": {"function": t.echo}}, params={"batch_size": 10}, params_schema=SCHEMA
    )


def test_a_launch_answers_201_with_the_queued_run_and_its_admin_page(operator_api, typed_flow):
    response = operator_api.post(
        url("api-flow-launch", "typed"),
        {"params": {"region": "eu"}, "logical_date": "2026-01-31T06:00:00Z"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    run = FlowRun.objects.get(pk=body["id"])
    assert (body["flow"], body["status"], body["params"]) == ("typed", "queued", {"region": "eu"})
    assert (
        body["admin_url"]
        == f"http://testserver{reverse('admin:flowforge_admin_flowrun_change', args=[run.pk])}"
    )
    assert response["Location"] == body["url"] == f"http://testserver{url('api-run-detail', run.pk)}"
    assert run.logical_date.isoformat() == "2026-01-31T06:00:00+00:00"
    assert run.triggered_by_user == operator_api.token.user
    assert body["task_counts"]["pending"] + body["task_counts"]["queued"] == 1
    # Recorded as any launch by a user: on the run (an addition) and on its flow.
    assert [(flag, message) for _, flag, message in log_of(run)] == [
        (ADDITION, 'Launched through the REST API with parameters {"region": "eu"}.')
    ]
    assert log_of(typed_flow)[-1][1:] == (
        CHANGE,
        f'Launched run #{run.pk} with parameters {{"region": "eu"}}.',
    )


# (API params, the same typed into the launch form, the parameter the error is at)
BAD_PARAMS = [
    ({"region": "eu", "batch_size": 0}, {"region": "eu", "batch_size": "0"}, "batch_size"),
    ({"batch_size": 5}, {"batch_size": "5"}, "region"),
    ({"region": "eu", "tags": [1]}, {"region": "eu", "tags": "[1]"}, "tags"),
]


@pytest.mark.parametrize(("params", "typed", "name"), BAD_PARAMS, ids=["minimum", "required", "item-type"])
def test_bad_parameters_answer_400_with_the_launch_forms_messages(
    operator_api, typed_flow, params, typed, name
):
    response = operator_api.post(url("api-flow-launch", "typed"), {"params": params}, format="json")

    assert response.status_code == 400, response.content
    form = LaunchForm(Flow.objects.get(name="typed"), data=typed)
    assert not form.is_valid()
    assert response.json() == {"params": {name: form.errors[name]}}
    assert not typed_flow.runs.exists()


def test_params_must_be_an_object(operator_api, typed_flow):
    response = operator_api.post(url("api-flow-launch", "typed"), {"params": [1, 2]}, format="json")

    assert response.status_code == 400
    assert "params" in response.json()


def test_an_unknown_flow_answers_404(operator_api, db):
    response = operator_api.post(url("api-flow-launch", "nope"), {"params": {}}, format="json")

    assert response.status_code == 404


def test_a_paused_flow_is_refused_with_409_and_the_admins_words(operator_api, typed_flow):
    Flow.objects.filter(pk=typed_flow.pk).update(is_paused=True)

    response = operator_api.post(url("api-flow-launch", "typed"), {"params": {"region": "eu"}}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": "flow 'typed' is paused: resume it before launching a run"}
    assert not typed_flow.runs.exists()


def bad_task(run):
    return run.task_runs.get(task_name="bad")


# (name, make the run, the admin's POST (URL name, args, data), the API's POST (URL name, args, body))
CHANGES = [
    (
        "cancel",
        api.launch_flow,
        lambda run: ("cancel", [run.pk], {}),
        lambda run: ("api-run-cancel", [run.pk], None),
    ),
    (
        "rerun-failed",
        api.run_flow,
        lambda run: ("rerun", [run.pk], {}),
        lambda run: ("api-run-rerun-failed", [run.pk], None),
    ),
    (
        "retry",
        api.run_flow,
        lambda run: ("retry", [run.pk, bad_task(run).pk], {}),
        lambda run: ("api-task-retry", [run.pk, "bad"], None),
    ),
    (
        "mark",
        api.run_flow,
        lambda run: ("mark", [run.pk, bad_task(run).pk], {"status": "succeeded", "reason": "fixed by hand"}),
        lambda run: ("api-task-mark", [run.pk, "bad"], {"status": "succeeded", "reason": "fixed by hand"}),
    ),
    (
        "clear",
        api.run_flow,
        lambda run: ("clear", [run.pk, run.task_runs.get(task_name="ok").pk], {"downstream": "1"}),
        lambda run: ("api-run-clear", [run.pk], {"tasks": ["ok"], "downstream": True}),
    ),
]


@pytest.mark.parametrize(("name", "make_run", "admin_post", "api_post"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_through_the_api_is_recorded_as_the_admin_button_records_it(
    client, operator_api, flow, name, make_run, admin_post, api_post
):
    by_button, by_api = make_run(flow), make_run(flow)
    operator = operator_api.token.user
    client.force_login(operator)
    url_name, args, data = admin_post(by_button)
    assert (
        client.post(reverse(f"admin:flowforge_admin_flowrun_{url_name}", args=args), data).status_code == 302
    )
    route, args, body = api_post(by_api)

    response = operator_api.post(url(route, *args), body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["id"] == by_api.pk
    assert log_of(by_button)  # the button wrote its entry
    assert without_id(log_of(by_api), by_api) == without_id(log_of(by_button), by_button)
    assert without_id(events_of(by_api), by_api) == without_id(events_of(by_button), by_button)
    entry = LogEntry.objects.filter(object_id=str(by_api.pk), content_type__model="flowrun").latest("pk")
    assert (entry.user, entry.action_flag) == (operator, CHANGE)


def test_a_change_not_possible_now_answers_409_with_the_actions_words_and_changes_nothing(
    operator_api, failed_run
):
    response = operator_api.post(url("api-run-cancel", failed_run.pk))

    assert response.status_code == 409
    assert "failed" in response.json()["detail"]
    failed_run.refresh_from_db()
    assert failed_run.status == "failed"
    assert events_of(failed_run, launch=False) == []


def test_a_bad_mark_or_clear_answers_400_and_changes_nothing(operator_api, failed_run):
    mark = operator_api.post(url("api-task-mark", failed_run.pk, "bad"), {"status": "running"}, format="json")
    clear = operator_api.post(url("api-run-clear", failed_run.pk), {"tasks": ["nope"]}, format="json")

    assert mark.status_code == 400
    assert "status" in mark.json()
    assert clear.status_code == 400
    assert "nope" in clear.json()["detail"]
    assert events_of(failed_run, launch=False) == []


def test_an_unknown_run_or_task_answers_404(operator_api, failed_run):
    assert operator_api.post(url("api-run-cancel", 999999)).status_code == 404
    assert operator_api.post(url("api-task-retry", failed_run.pk, "nope")).status_code == 404
