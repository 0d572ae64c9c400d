"""Alerts raised by the engine in this process (run_flow), and each channel's delivery called as a worker calls it."""

import datetime
import json

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from flowforge_admin.alerts.delivery import deliver
from flowforge_admin.alerts.watch import DELIVER_ENTRY, raise_event
from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.engine.recovery import check_lost_work
from flowforge_admin.engine.schedule_fire import fire
from flowforge_admin.models import AlertDelivery, FlowRun, FlowSchedule
from flowforge_admin.states import DeliveryState, RunState

from .. import engine_tasks as t
from . import callables
from .conftest import deliveries, signed_by

pytestmark = pytest.mark.django_db

FAILING = {"boom": {"function": t.fail}, "after": {"function": t.echo, "depends_on": ["boom"]}}


def queued_deliveries():
    """(delivery id, attempt) of the messages Django-Q2 would hand to workers."""
    return [
        tuple(message.task["args"])
        for message in OrmQ.objects.order_by("id")
        if message.func() == DELIVER_ENTRY
    ]


def test_a_failed_run_raises_one_delivery_per_alert_after_its_commit(django_capture_on_commit_callbacks):
    flow = register_task_pipeline(
        "fails",
        FAILING,
        alerts=[
            {"on": ["run_failed"], "webhook": "https://hooks.example.com/a"},
            {"on": ["run_succeeded"], "webhook": "https://hooks.example.com/b"},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    assert run.status == RunState.FAILED
    [delivery] = deliveries(run)
    assert (delivery.event, delivery.channel, delivery.status, delivery.target) == (
        "run_failed",
        "webhook",
        DeliveryState.PENDING,
        "https://hooks.example.com/a",
    )
    assert queued_deliveries() == [(delivery.pk, 1)]


def test_a_flow_without_alerts_raises_nothing(django_capture_on_commit_callbacks):
    flow = register_task_pipeline("quiet", FAILING)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    assert (run.status, AlertDelivery.objects.count(), queued_deliveries()) == (RunState.FAILED, 0, [])


def test_email_goes_to_a_group_and_an_address(django_capture_on_commit_callbacks, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.FLOWFORGE_BASE_URL = "https://flows.example.com"
    ops = Group.objects.create(name="ops")
    User.objects.create_user("ann", email="ann@example.com").groups.add(ops)
    User.objects.create_user("bob", email="bob@example.com", is_active=False).groups.add(ops)
    flow = register_task_pipeline(
        "mailed", FAILING, alerts=[{"on": ["run_failed"], "email": ["oncall@example.com"], "groups": ["ops"]}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    [delivery] = deliveries(run)
    assert deliver(delivery.pk, 1) == DeliveryState.SENT
    [message] = mail.outbox
    assert message.to == ["oncall@example.com", "ann@example.com"]
    assert (
        message.subject
        == f"Flow Forge: mailed <https://flows.example.com/admin/flowforge_admin/flowrun/{run.pk}/change/|run #{run.pk}> failed."
    )
    assert "boom: RuntimeError: boom" in message.body
    assert f"run: https://flows.example.com/admin/flowforge_admin/flowrun/{run.pk}/change/" in message.body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.sent_at is not None) == (DeliveryState.SENT, 1, True)
    assert deliver(delivery.pk, 1) is None  # the same message again sends nothing
    assert len(mail.outbox) == 1


def test_a_callable_from_an_allowed_module_gets_the_payload(
    django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.FLOWFORGE_FUNCTION_MODULES = ["tests.alerts"]
    callables.received.clear()
    flow = register_task_pipeline(
        "paged",
        {"flaky": {"function": t.fail_first, "retries": 1}},
        params={"marker_dir": str(tmp_path)},
        alerts=[{"on": ["task_retrying"], "callable": "tests.alerts.callables.page_oncall"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    assert run.status == RunState.SUCCEEDED
    [delivery] = deliveries(run)
    assert deliver(delivery.pk, 1) == DeliveryState.SENT
    [payload] = callables.received
    assert (payload["event"], payload["flow"], payload["run_id"], payload["task"]["name"]) == (
        "task_retrying",
        "paged",
        run.pk,
        "flaky",
    )
    assert payload["message"] == "attempt 1 failed: ValueError: attempt 1 fails on purpose"


def test_a_callable_no_longer_allowed_fails_without_being_called(
    django_capture_on_commit_callbacks, settings
):
    settings.FLOWFORGE_FUNCTION_MODULES = ["tests.alerts"]
    callables.received.clear()
    flow = register_task_pipeline(
        "paged", FAILING, alerts=[{"on": ["run_failed"], "callable": "tests.alerts.callables.page_oncall"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    settings.FLOWFORGE_FUNCTION_MODULES = []
    [delivery] = deliveries(run)
    assert deliver(delivery.pk, 1) == DeliveryState.FAILED
    delivery.refresh_from_db()
    assert "is not an allowed task function" in delivery.last_error
    assert callables.received == []


def test_a_failing_webhook_is_retried_with_backoff_and_each_attempt_recorded(
    django_capture_on_commit_callbacks, webhook_server, settings
):
    settings.FLOWFORGE_ALERT_RETRY_DELAYS = [30, 120]
    webhook_server.status = 500
    flow = register_task_pipeline(
        "hooked", FAILING, alerts=[{"on": ["run_failed"], "webhook": webhook_server.url, "secret": "k"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    assert run.status == RunState.FAILED  # as it would without alerts
    [delivery] = deliveries(run)
    before = timezone.now()
    assert deliver(delivery.pk, 1) == DeliveryState.PENDING
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code, delivery.last_error) == (
        1,
        500,
        "HTTP 500 Internal Server Error",
    )
    assert delivery.next_attempt_at >= before + datetime.timedelta(seconds=30)
    [retry] = Schedule.objects.filter(func=DELIVER_ENTRY)
    assert (retry.args, retry.schedule_type, retry.next_run) == (
        f"({delivery.pk}, 2)",
        Schedule.ONCE,
        delivery.next_attempt_at,
    )
    # The schedule's attempt, then the last one with the server gone: connection refused.
    assert deliver(delivery.pk, 2) == DeliveryState.PENDING
    webhook_server.__exit__()
    assert deliver(delivery.pk, 3) == DeliveryState.FAILED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryState.FAILED, 3, None)
    assert delivery.last_error.startswith(f"could not reach {webhook_server.url}")
    assert len(webhook_server.received) == 2
    assert all(signed_by("k", headers, body) for headers, body in webhook_server.received)
    body = json.loads(webhook_server.received[0][1])
    assert body["failing_tasks"] == [{"name": "boom", "status": "failed", "error": "RuntimeError: boom"}]


def test_a_run_past_its_sla_is_alerted_once_by_the_lost_work_check(django_capture_on_commit_callbacks):
    flow = register_task_pipeline(
        "slow",
        {"only": {"function": t.echo}},
        alerts=[{"on": ["sla_missed"], "sla_seconds": 600, "webhook": "https://hooks.example.com/sla"}],
    )
    late, recent = launch_flow(flow), launch_flow(flow)
    FlowRun.objects.filter(pk=late.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        check_lost_work()
        check_lost_work()
    [delivery] = AlertDelivery.objects.all()
    assert (delivery.run_id, delivery.event) == (late.pk, "sla_missed")
    assert delivery.message == "still active 11 min after its launch (SLA: 600 s)"
    assert not deliveries(recent)


def test_a_skipped_schedule_fire_is_alerted_once(django_capture_on_commit_callbacks):
    flow = register_task_pipeline(
        "nightly",
        {"only": {"function": t.echo}},
        alerts=[{"on": ["schedule_skipped"], "webhook": "https://hooks.example.com/skip"}],
    )
    schedule = FlowSchedule.objects.create(
        flow=flow, name="often", kind=FlowSchedule.Kind.MINUTES, every_minutes=5
    )
    flow.is_paused = True
    flow.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert fire(schedule.pk) is None
    [delivery] = AlertDelivery.objects.all()
    assert (delivery.event, delivery.schedule_id, delivery.run_id, delivery.flow_name) == (
        "schedule_skipped",
        schedule.pk,
        None,
        "nightly",
    )
    assert delivery.message == "skipped: the schedule or its flow is paused"


def test_the_check_for_alerts_costs_a_flow_without_alerts_no_query_once_read(
    django_capture_on_commit_callbacks,
):
    """Which flows have alerts is read once per process (and again only after FLOWFORGE_ALERT_CACHE_SECONDS)."""
    register_task_pipeline(
        "has_alerts", FAILING, alerts=[{"on": ["run_failed"], "webhook": "https://x.example.com"}]
    )
    quiet = register_task_pipeline("quiet", FAILING)
    with django_capture_on_commit_callbacks(execute=True):
        run_flow(quiet)
    with CaptureQueriesContext(connection) as captured:
        assert raise_event("run_failed", quiet.pk, run_id=1) == []
    assert len(captured) == 0


def test_the_lost_work_check_sends_again_a_delivery_whose_message_or_schedule_was_lost(
    django_capture_on_commit_callbacks,
):
    flow = register_task_pipeline(
        "lossy", FAILING, alerts=[{"on": ["run_failed"], "webhook": "https://hooks.example.com/x"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    [delivery] = deliveries(run)
    OrmQ.objects.all().delete()  # the message is lost
    check_lost_work()
    assert queued_deliveries() == []  # not late yet
    old = timezone.now() - datetime.timedelta(minutes=5)
    AlertDelivery.objects.filter(pk=delivery.pk).update(created_at=old)
    check_lost_work()
    assert queued_deliveries() == [(delivery.pk, 1)]
    OrmQ.objects.all().delete()
    AlertDelivery.objects.filter(pk=delivery.pk).update(attempts=2, next_attempt_at=old)
    check_lost_work()
    assert queued_deliveries() == [(delivery.pk, 3)]


def test_an_attempt_whose_worker_died_mid_send_is_made_again_once_its_lease_ran_out(
    django_capture_on_commit_callbacks, settings
):
    """The claim leases the attempt for the cluster's timeout; a killed worker's attempt comes back."""
    settings.FLOWFORGE_FUNCTION_MODULES = ["tests.alerts"]
    callables.received.clear()
    flow = register_task_pipeline(
        "killed", FAILING, alerts=[{"on": ["run_failed"], "callable": "tests.alerts.callables.note_lease"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = run_flow(flow)
    [delivery] = deliveries(run)
    OrmQ.objects.all().delete()
    before = timezone.now()
    assert deliver(delivery.pk, 1) == DeliveryState.SENT
    [during] = callables.received
    assert during["attempts"] == 1
    assert during["next_attempt_at"] >= before + datetime.timedelta(seconds=settings.Q_CLUSTER["timeout"])
    assert AlertDelivery.objects.get(pk=delivery.pk).next_attempt_at is None  # done: no lease

    # Had the worker been killed while sending, the row would have stayed as it was then:
    AlertDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryState.PENDING, **during)
    check_lost_work()
    assert queued_deliveries() == []  # it may still be sending: its lease runs
    expired = timezone.now() - datetime.timedelta(minutes=5)
    AlertDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=expired)
    check_lost_work()
    assert queued_deliveries() == [(delivery.pk, 2)]
