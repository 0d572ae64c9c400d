"""Alerts sent by real Django-Q2 workers to a real local HTTP server (one cluster for the module)."""

import json

import pytest

from flowforge_admin.alerts.delivery import deliver
from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import AlertDelivery
from flowforge_admin.states import DeliveryState, RunState

from .. import engine_tasks as t
from ..engine.cluster import Cluster, purge_queue, wait_for
from ..engine.test_cluster import finished
from .conftest import deliveries, signed_by

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "webhook-secret"


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory):
    """One qcluster for the module; it reads which flows have alerts at every event, links under a base URL."""
    with django_db_blocker.unblock():
        purge_queue()
        cluster = Cluster(
            tmp_path_factory.mktemp("alerts") / "qcluster.log",
            FLOWFORGE_ALERT_CACHE_SECONDS="0",
            FLOWFORGE_BASE_URL="https://flows.example.com",
        )
        cluster.start()
    yield cluster
    cluster.stop()


def test_a_failed_run_sends_one_signed_webhook(workers, webhook_server):
    flow = register_task_pipeline(
        "alerted_on_workers",
        {"boom": {"function": t.fail}, "after": {"function": t.echo, "depends_on": ["boom"]}},
        alerts=[
            {"on": ["run_failed"], "webhook": webhook_server.url, "secret": SECRET},
            {"on": ["run_succeeded"], "webhook": webhook_server.url, "secret": SECRET},
        ],
    )
    run = finished(launch_flow(flow))
    assert run.status == RunState.FAILED, workers.log()
    delivery = wait_for(
        lambda: AlertDelivery.objects.filter(run=run, status=DeliveryState.SENT).first(),
        message="the webhook to be sent",
    )
    [(headers, body)] = webhook_server.received
    assert signed_by(SECRET, headers, body)
    payload = json.loads(body)
    assert (payload["event"], payload["flow"], payload["run_id"], payload["status"]) == (
        "run_failed",
        "alerted_on_workers",
        run.pk,
        "failed",
    )
    assert payload["failing_tasks"] == [{"name": "boom", "status": "failed", "error": "RuntimeError: boom"}]
    assert (
        payload["links"]["run"] == f"https://flows.example.com/admin/flowforge_admin/flowrun/{run.pk}/change/"
    )
    assert payload["text"].startswith("Flow Forge: alerted_on_workers <https://flows.example.com/")
    assert (delivery.event, delivery.attempts, delivery.response_code) == ("run_failed", 1, 200)
    assert [d.event for d in deliveries(run)] == ["run_failed"]  # once per event, nothing for success


def test_a_failing_webhook_is_recorded_and_retried_while_the_run_ends_normally(
    workers, webhook_server, tmp_path
):
    webhook_server.status = 500
    flow = register_task_pipeline(
        "flaky_on_workers",
        {"flaky": {"function": t.fail_first, "retries": 1}},
        params={"marker_dir": str(tmp_path)},
        alerts=[{"on": ["task_retrying", "run_succeeded"], "webhook": webhook_server.url, "secret": SECRET}],
    )
    run = finished(launch_flow(flow))
    assert run.status == RunState.SUCCEEDED, workers.log()

    def first_attempts_failed():
        found = deliveries(run)
        # The first attempts recorded their outcome (a claimed attempt has a lease in next_attempt_at too).
        return len(found) == 2 and all(d.attempts == 1 and d.last_error for d in found) and found

    retrying, succeeded = wait_for(first_attempts_failed, message="both deliveries' first attempts")
    assert [(d.event, d.status, d.response_code, d.last_error) for d in (retrying, succeeded)] == [
        ("task_retrying", DeliveryState.PENDING, 500, "HTTP 500 Internal Server Error"),
        ("run_succeeded", DeliveryState.PENDING, 500, "HTTP 500 Internal Server Error"),
    ]
    # The retry the one-off schedule would make in 30 s, made now; the server is well again.
    webhook_server.status = 200
    assert deliver(retrying.pk, 2) == DeliveryState.SENT
    retrying.refresh_from_db()
    assert (retrying.attempts, retrying.response_code, retrying.last_error) == (2, 200, "")
    assert len(webhook_server.received) == 3
    assert all(signed_by(SECRET, headers, body) for headers, body in webhook_server.received)
