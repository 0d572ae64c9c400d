"""One attempt of one delivery, as a worker runs it: send, record, and plan the next on failure.

Attempts are claimed with a conditional update (``attempts = n - 1`` and still
pending), so a message Django-Q2 delivers twice sends once. A claim is a lease:
it sets ``next_attempt_at`` to when a worker running the attempt must have
been killed (Django-Q2's cluster timeout), so an attempt whose worker died
mid-send is made again by the lost-work check (:func:`resend_stuck`): a
delivery is sent at least once, and receivers tell a repeat by its
``X-Flowforge-Delivery`` id. A failed attempt
is followed by another after each delay of ``FLOWFORGE_ALERT_RETRY_DELAYS``
in turn (a one-off Django-Q2 schedule, as task retries are: never a sleep in
a worker, and a 30 s resolution); after the last, the delivery is failed.
"""

import datetime
import logging

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django_q.models import Schedule

from ..conf import get_setting
from ..models import AlertDelivery
from ..states import DeliveryState
from . import channels, payload
from .watch import DELIVER_ENTRY, enqueue

logger = logging.getLogger("flowforge_admin.alerts")

ERROR_CHARS = 2000
# The lease of a claimed attempt when Q_CLUSTER has no timeout (system check E002 asks for one).
LEASE_WITHOUT_TIMEOUT = 3600


def deliver(delivery_id, attempt=1):
    """Make attempt ``attempt`` of the delivery; return its status, or None if it was not this attempt's turn."""
    claimed = AlertDelivery.objects.filter(
        pk=delivery_id, status=DeliveryState.PENDING, attempts=attempt - 1
    ).update(attempts=F("attempts") + 1, next_attempt_at=timezone.now() + lease())
    if not claimed:
        return None
    delivery = AlertDelivery.objects.select_related("alert__flow", "run", "task_run", "schedule").get(
        pk=delivery_id
    )
    code, error, final = None, "", False
    try:
        if delivery.alert is None:
            raise channels.Undeliverable("the alert was deleted")
        sender = channels.SENDERS[delivery.alert.channel]
        code = sender(delivery.alert, payload.build(delivery), delivery.pk)
    except channels.Undeliverable as problem:
        error, final = str(problem), True
    except channels.DeliveryFailed as problem:
        error, code = str(problem), problem.code
    except Exception as problem:  # a channel's failure is recorded, never raised into the worker
        error = f"{type(problem).__name__}: {problem}"
    now = timezone.now()
    fields = {"response_code": code, "last_error": error[:ERROR_CHARS], "next_attempt_at": None}
    if not error:
        fields.update(status=DeliveryState.SENT, sent_at=now)
    else:
        delays = get_setting("FLOWFORGE_ALERT_RETRY_DELAYS")
        if final or attempt > len(delays):
            fields["status"] = DeliveryState.FAILED
        else:
            fields["next_attempt_at"] = now + datetime.timedelta(seconds=delays[attempt - 1])
        logger.warning("alert delivery %s attempt %s failed: %s", delivery_id, attempt, error)
    AlertDelivery.objects.filter(pk=delivery_id).update(**fields)
    if fields.get("next_attempt_at"):
        retry_later(delivery_id, attempt + 1, fields["next_attempt_at"], delays[attempt - 1])
    return fields.get("status", DeliveryState.PENDING)


def lease():
    """How long a claimed attempt may be under way: past it, its worker was killed (Django-Q2's timeout)."""
    return datetime.timedelta(seconds=settings.Q_CLUSTER.get("timeout") or LEASE_WITHOUT_TIMEOUT)


def resend_stuck(now):
    """Send again what should be under way but may have lost its message; return how many.

    A delivery never tried for longer than ``FLOWFORGE_REQUEUE_AFTER_SECONDS``
    (its message lost with a Redis broker's prefetch), or whose next attempt
    is that late (its one-off schedule missed, or the worker of its claimed
    attempt killed: the claim's lease ran out). The lost-work check calls it;
    the claim in :func:`deliver` makes a second message for the same attempt harmless.
    """
    late = now - datetime.timedelta(seconds=get_setting("FLOWFORGE_REQUEUE_AFTER_SECONDS"))
    stuck = (
        AlertDelivery.objects.filter(status=DeliveryState.PENDING)
        .filter(Q(attempts=0, created_at__lt=late) | Q(next_attempt_at__lt=late))
        .order_by()
        .values_list("pk", "attempts")
    )
    count = 0
    for delivery_id, attempts in stuck:
        enqueue(delivery_id, attempts + 1)
        count += 1
    return count


def retry_later(delivery_id, attempt, when, delay):
    """Plan attempt ``attempt`` at ``when``: at once for no delay, else a one-off schedule."""
    if delay <= 0:
        enqueue(delivery_id, attempt)
        return
    Schedule.objects.create(
        name=f"flowforge alert {delivery_id}-{attempt}",
        func=DELIVER_ENTRY,
        args=repr((delivery_id, attempt)),
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=when,
    )
