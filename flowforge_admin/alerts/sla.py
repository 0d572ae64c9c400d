"""Runs late for their flow's SLA: found by the lost-work check, alerted once per run and alert.

Nothing is scheduled per run. Once a minute the check reads the enabled
alerts with an SLA (a partial index holds exactly those: none, usually), and
for each, the active runs of its flow launched more than ``sla_seconds`` ago
that have no SLA delivery of that alert yet (the flow's runs by creation
time, an index; the delivery's unique constraint, another). A unique
constraint keeps it to one delivery even when two checks overlap.
"""

import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import AlertDelivery, FlowAlert, FlowRun
from ..states import RUN_CANCELLABLE, AlertEvent
from .watch import raise_event


def check_sla(now=None):
    """Alert on every run late for an SLA not alerted yet; return how many deliveries were made."""
    now = now or timezone.now()
    made = 0
    for alert in FlowAlert.objects.filter(enabled=True, sla_seconds__isnull=False).select_related("flow"):
        if AlertEvent.SLA_MISSED not in alert.events:
            continue
        alerted = AlertDelivery.objects.filter(run=OuterRef("pk"), alert=alert, event=AlertEvent.SLA_MISSED)
        late = (
            FlowRun.objects.filter(
                flow_id=alert.flow_id,
                status__in=RUN_CANCELLABLE,
                created_at__lt=now - datetime.timedelta(seconds=alert.sla_seconds),
            )
            .filter(~Exists(alerted))
            .order_by()
            .values_list("pk", "created_at")
        )
        for run_id, created_at in late:
            minutes = (now - created_at).total_seconds() / 60
            message = f"still active {minutes:.0f} min after its launch (SLA: {alert.sla_seconds} s)"
            made += len(
                raise_event(
                    AlertEvent.SLA_MISSED, alert.flow_id, run_id=run_id, message=message, alerts=[alert]
                )
            )
    return made
