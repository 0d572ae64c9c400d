"""Whether an event has alerts, and what happens after the commit when it does.

The engine calls the ``*_on_commit`` functions where a run finishes and where a
task goes on to another attempt. They only register a commit callback: the
engine's transaction gains no statement. After the commit, the callback
asks :func:`alert_events` (a per-process cache of the flows with enabled
alerts, read at most every ``FLOWFORGE_ALERT_CACHE_SECONDS`` and at once when
this process saves or deletes an alert) and, only for a flow that has alerts
for the event, creates the deliveries and enqueues them.
"""

import logging
import time

from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_q.tasks import async_task

from ..conf import get_setting
from ..models import AlertDelivery, FlowAlert, FlowRun
from ..states import AlertEvent, RunState

logger = logging.getLogger("flowforge_admin.alerts")

# The path Django-Q2's workers call for one delivery (a string: delivery.py imports this module).
DELIVER_ENTRY = "flowforge_admin.alerts.delivery.deliver"

# (read until, {flow id: set of events of its enabled alerts}), per process.
_cache = [0.0, {}]

RUN_EVENTS = {RunState.FAILED: AlertEvent.RUN_FAILED, RunState.SUCCEEDED: AlertEvent.RUN_SUCCEEDED}


def alert_events(flow_id):
    """The events the flow's enabled alerts are sent on (read at most every FLOWFORGE_ALERT_CACHE_SECONDS)."""
    now = time.monotonic()
    if now >= _cache[0]:
        events = {}
        for flow, listed in FlowAlert.objects.filter(enabled=True).values_list("flow_id", "events"):
            events.setdefault(flow, set()).update(listed or ())
        _cache[:] = [now + get_setting("FLOWFORGE_ALERT_CACHE_SECONDS"), events]
    return _cache[1].get(flow_id, ())


def forget(**kwargs):
    """Read the alerts again at the next event (an alert was saved or deleted here)."""
    _cache[0] = 0.0


@receiver(post_save, sender=FlowAlert, dispatch_uid="flowforge_admin.alert_saved")
@receiver(post_delete, sender=FlowAlert, dispatch_uid="flowforge_admin.alert_deleted")
def _alert_changed(sender, **kwargs):
    forget()


def run_finished_on_commit(flow_id, run_id, status):
    """After the commit, alert on a run that finished ``status`` (failed or succeeded; nothing else alerts)."""
    event = RUN_EVENTS.get(status)
    if event and flow_id:
        transaction.on_commit(lambda: raise_event(event, flow_id, run_id=run_id))


def task_retrying_on_commit(flow_id, run_id, task_run_id, message):
    """After the commit, alert on a task whose failed attempt is followed by another."""
    if flow_id:
        transaction.on_commit(
            lambda: raise_event(
                AlertEvent.TASK_RETRYING, flow_id, run_id=run_id, task_run_id=task_run_id, message=message
            )
        )


def task_waiting_on_commit(flow_id, run_id, task_run_id, message):
    """After the commit, alert on an approval step that started waiting for its approvers."""
    if flow_id and AlertEvent.TASK_WAITING in alert_events(flow_id):
        transaction.on_commit(
            lambda: raise_event(
                AlertEvent.TASK_WAITING, flow_id, run_id=run_id, task_run_id=task_run_id, message=message
            )
        )


def schedule_skipped_on_commit(flow_id, schedule_id, message):
    """After the commit, alert on a schedule's fire that skipped (all or part of) what was due."""
    transaction.on_commit(
        lambda: raise_event(AlertEvent.SCHEDULE_SKIPPED, flow_id, schedule_id=schedule_id, message=message)
    )


def raise_event(event, flow_id, *, run_id=None, task_run_id=None, schedule_id=None, message="", alerts=None):
    """Create and enqueue a delivery per enabled alert of the flow for ``event``; return them.

    Never raises: an alert must not break what raised it (the error is logged).
    """
    try:
        if alerts is None:
            if event not in alert_events(flow_id):
                return []
            alerts = [
                alert
                for alert in FlowAlert.objects.filter(flow_id=flow_id, enabled=True)
                if event in alert.events
            ]
        if not alerts:
            return []
        flow_name = alerts[0].flow.name if run_id is None else _run_flow_name(run_id)
        deliveries = []
        for alert in alerts:
            try:
                with transaction.atomic():
                    deliveries.append(
                        AlertDelivery.objects.create(
                            alert=alert,
                            run_id=run_id,
                            task_run_id=task_run_id,
                            schedule_id=schedule_id,
                            flow_name=flow_name,
                            event=event,
                            channel=alert.channel,
                            target=str(alert.target())[:500],
                            message=message[:300],
                        )
                    )
            except IntegrityError:
                continue  # an SLA already alerted for this run (another check got there first)
        for delivery in deliveries:
            enqueue(delivery.pk, 1)
        return deliveries
    except Exception:
        logger.exception("alerts for %s of flow %s (run %s) could not be raised", event, flow_id, run_id)
        return []


def _run_flow_name(run_id):
    return FlowRun.objects.filter(pk=run_id).values_list("flow_name", flat=True).first() or ""


def enqueue(delivery_id, attempt):
    """Hand attempt ``attempt`` of a delivery to a worker of the project's cluster."""
    async_task(
        DELIVER_ENTRY,
        delivery_id,
        attempt,
        q_options={"task_name": f"flowforge-alert-{delivery_id}-{attempt}", "save": False},
    )
