"""The run page's Clear button: a finished task (or group) runs again, with or without what waits for it."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.engine import control
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import RunEvent

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def stakeholder(role_user):
    client = Client()
    client.force_login(role_user("Stakeholder"))
    return client


@pytest.fixture
def run():
    """A succeeded run: load, then the group train (fit, then score), then report."""
    flow = register_task_pipeline(
        "cleared",
        {
            "load": {"function": t.echo},
            "train": {
                "depends_on": ["load"],
                "nested_tasks": {
                    "fit": {"function": t.echo},
                    "score": {"function": t.echo, "depends_on": ["fit"]},
                },
            },
            "report": {"function": t.echo, "depends_on": ["train"]},
        },
    )
    flow_run = run_flow(flow)
    assert flow_run.status == "succeeded"
    return flow_run


def clear_url(flow_run, name):
    task_run = flow_run.task_runs.get(task_name=name)
    return reverse("admin:flowforge_admin_flowrun_clear", args=[flow_run.pk, task_run.pk])


def page_url(flow_run):
    return reverse("admin:flowforge_admin_flowrun_change", args=[flow_run.pk])


def tasks_of(flow_run):
    return {
        name: (status, attempt)
        for name, status, attempt in flow_run.task_runs.values_list("task_name", "status", "attempt")
    }


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_clear_with_downstream_runs_the_task_and_what_waits_for_it_again(operator_client, run):
    before = tasks_of(run)
    response = operator_client.post(clear_url(run, "load"), {"downstream": "1"})
    assert response.status_code == 302
    assert response.url == page_url(run)
    run.refresh_from_db()
    assert run.status == "running"
    after = tasks_of(run)
    assert after["load"][0] == "queued"
    assert {after[name][0] for name in ("train", "fit", "score", "report")} <= {"pending", "queued"}
    assert after["load"][1] == before["load"][1] + 1  # a new attempt, queued
    message = f"Cleared tasks load and what waits for them of run #{run.pk}."
    event = RunEvent.objects.get(run=run, action="clear_tasks")
    assert (event.user.username, event.message) == ("operator", message)
    entry = LogEntry.objects.get(object_id=str(run.pk))
    assert (entry.user.username, entry.change_message) == ("operator", message)
    assert message in messages_of(operator_client.get(page_url(run)))


def test_clear_without_downstream_runs_only_that_task_again(operator_client, run):
    operator_client.post(clear_url(run, "load"), {"downstream": "0"})
    run.refresh_from_db()
    after = tasks_of(run)
    assert after["load"] == ("queued", 2)
    assert {after[name][0] for name in ("train", "fit", "score", "report")} == {"succeeded"}
    assert (
        RunEvent.objects.get(run=run, action="clear_tasks").message == f"Cleared tasks load of run #{run.pk}."
    )


def test_clearing_a_group_clears_its_tasks_and_not_those_before(operator_client, run):
    operator_client.post(clear_url(run, "train"), {"downstream": "0"})
    after = tasks_of(run)
    assert after["load"][0] == "succeeded"
    assert after["report"][0] == "succeeded"
    assert after["fit"] == ("queued", 2)
    assert after["score"][0] == "pending"


def test_get_is_405_and_changes_nothing(operator_client, run):
    before = tasks_of(run)
    assert operator_client.get(clear_url(run, "load")).status_code == 405
    assert tasks_of(run) == before


def test_a_stakeholder_gets_403_and_changes_nothing(stakeholder_client, run):
    before = tasks_of(run)
    assert stakeholder_client.post(clear_url(run, "load"), {"downstream": "1"}).status_code == 403
    assert tasks_of(run) == before
    assert not RunEvent.objects.filter(action="clear_tasks").exists()


def test_an_unknown_task_is_404(operator_client, run):
    url = reverse("admin:flowforge_admin_flowrun_clear", args=[run.pk, 999_999])
    assert operator_client.post(url, {"downstream": "1"}).status_code == 404


def test_a_refusal_says_why_and_changes_nothing(operator_client, run, monkeypatch):
    def refuse(*args, **kwargs):
        raise InvalidTransition("the run is being changed by someone else")

    monkeypatch.setattr(control, "clear_tasks", refuse)
    before = tasks_of(run)
    response = operator_client.post(clear_url(run, "load"), {"downstream": "1"}, follow=True)
    assert response.status_code == 200
    assert any("being changed by someone else" in m for m in messages_of(response))
    assert tasks_of(run) == before
    assert not RunEvent.objects.filter(action="clear_tasks").exists()
    assert not LogEntry.objects.filter(object_id=str(run.pk)).exists()


def test_from_the_graph_the_answer_goes_back_to_the_graph(operator_client, run):
    response = operator_client.post(clear_url(run, "report"), {"downstream": "1", "back": "graph"})
    assert response.url == reverse("admin:flowforge_admin_flowrun_graph", args=[run.pk])
    assert tasks_of(run)["report"][0] == "queued"


def test_the_run_page_offers_clear_for_finished_tasks_to_operators_only(operator_client, stakeholder, run):
    seen = operator_client.get(page_url(run)).text
    for name in ("load", "train", "fit", "report"):
        assert clear_url(run, name) in seen
    assert "with the tasks downstream" in seen
    assert clear_url(run, "load") not in stakeholder.get(page_url(run)).text


def test_the_run_page_offers_no_clear_for_active_tasks(operator_client, run):
    operator_client.post(clear_url(run, "load"), {"downstream": "1"})
    seen = operator_client.get(page_url(run)).text
    assert clear_url(run, "load") not in seen  # queued again
    assert clear_url(run, "report") not in seen  # pending


def test_the_graph_data_has_clear_urls_for_operators_only(operator_client, stakeholder, run):
    data_url = reverse("admin:flowforge_admin_flowrun_graph_data", args=[run.pk])
    statuses = operator_client.get(data_url).json()["statuses"]
    assert statuses["load"]["clear_url"] == clear_url(run, "load")
    assert operator_client.get(data_url, {"statuses": "1"}).json()["statuses"]["train"][
        "clear_url"
    ] == clear_url(run, "train")
    assert "clear_url" not in stakeholder.get(data_url).json()["statuses"]["load"]
