"""The flow page's "Alerts" inline (Editors change, others view without the secret) and the run page's deliveries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import AlertDelivery, FlowAlert
from flowforge_admin.states import DeliveryState

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

SECRET = "a" * 64


@pytest.fixture
def flow():
    return register_task_pipeline(
        "alerted",
        {"boom": {"function": t.fail}},
        alerts=[
            {"on": ["run_failed"], "webhook": "https://hooks.example.com/x", "secret": SECRET, "name": "hook"}
        ],
    )


def change_url(flow):
    return reverse("admin:flowforge_admin_flow_change", args=[flow.pk])


def inline_post(flow, **alert):
    """The flow page's POST with one existing alert changed as ``alert`` says."""
    existing = flow.alerts.get()
    data = {
        "name": flow.name,
        "display_name": flow.display_name,
        "description": "",
        "params": "{}",
        "params_schema": "",
        "max_active_runs": "",
        "alerts-TOTAL_FORMS": "1",
        "alerts-INITIAL_FORMS": "1",
        "alerts-MIN_NUM_FORMS": "0",
        "alerts-MAX_NUM_FORMS": "1000",
        "alerts-0-id": str(existing.pk),
        "alerts-0-flow": str(flow.pk),
        "alerts-0-name": existing.name,
        "alerts-0-enabled": "on",
        "alerts-0-events": ["run_failed"],
        "alerts-0-channel": "webhook",
        "alerts-0-webhook_url": existing.webhook_url,
        "alerts-0-secret": existing.secret,
    }
    data.update({f"alerts-0-{key}": value for key, value in alert.items()})
    return data


def test_an_editor_changes_an_alert_in_the_flow_page(flow, editor_client):
    page = editor_client.get(change_url(flow))
    assert page.status_code == 200
    assert 'name="alerts-0-webhook_url"' in page.text
    assert SECRET in page.text  # shown to those who may change it
    response = editor_client.post(
        change_url(flow),
        inline_post(flow, events=["run_failed", "run_succeeded"], webhook_url="https://h.example.com/y"),
    )
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    alert = flow.alerts.get()
    assert (alert.events, alert.webhook_url) == (["run_failed", "run_succeeded"], "https://h.example.com/y")


def test_the_inline_refuses_what_registration_refuses(flow, editor_client):
    response = editor_client.post(change_url(flow), inline_post(flow, events=["sla_missed"]))
    assert response.status_code == 200
    assert "the sla_missed event needs sla_seconds" in response.text
    assert flow.alerts.get().events == ["run_failed"]


@pytest.mark.parametrize("client_name", ["stakeholder_client", "operator_client"])
def test_stakeholders_and_operators_see_alerts_but_neither_change_them_nor_see_the_secret(
    flow, client_name, request
):
    client = request.getfixturevalue(client_name)
    page = client.get(change_url(flow))
    assert page.status_code == 200
    assert "https://hooks.example.com/x" in page.text
    assert 'name="alerts-0-webhook_url"' not in page.text
    assert SECRET not in page.text
    response = client.post(change_url(flow), inline_post(flow, webhook_url="https://evil.example.com"))
    assert response.status_code == 403
    assert flow.alerts.get().webhook_url == "https://hooks.example.com/x"


def test_the_run_page_lists_deliveries_in_a_number_of_queries_that_does_not_grow(
    flow, editor_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    url = reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])
    [delivery] = AlertDelivery.objects.filter(run=run)
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryState.FAILED,
        attempts=4,
        response_code=500,
        last_error="HTTP 500 Internal Server Error",
    )
    editor_client.get(url)  # what the first page of a process reads once
    with CaptureQueriesContext(connection) as one:
        page = editor_client.get(url)
    assert "ff-run-alerts" in page.text
    assert "HTTP 500 Internal Server Error" in page.text
    alert = FlowAlert.objects.get()
    AlertDelivery.objects.bulk_create(
        AlertDelivery(alert=alert, run=run, flow_name=run.flow_name, event="run_failed", channel="webhook")
        for _ in range(10)
    )
    with CaptureQueriesContext(connection) as eleven:
        page = editor_client.get(url)
    assert page.text.count('class="ff-alert-delivery ') == 11
    assert len(eleven) == len(one)


def test_a_run_without_deliveries_has_no_section(editor_client, django_capture_on_commit_callbacks):
    quiet = register_task_pipeline("quiet", {"ok": {"function": t.echo}})
    run = run_flow(quiet)
    page = editor_client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert "ff-run-alerts" not in page.text


def test_the_delivery_list_filters_by_status_for_stakeholders(
    flow, stakeholder_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_flow(flow)
    url = reverse("admin:flowforge_admin_alertdelivery_changelist")
    page = stakeholder_client.get(url + "?status__exact=pending")
    assert page.status_code == 200
    run_url = reverse("admin:flowforge_admin_flowrun_change", args=[AlertDelivery.objects.get().run_id])
    assert f'href="{run_url}"' in page.text
    assert stakeholder_client.get(url + "?status__exact=sent").text.count(run_url) == 0
    assert stakeholder_client.get(reverse("admin:flowforge_admin_alertdelivery_add")).status_code == 403
