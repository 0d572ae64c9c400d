"""The queue message a worker is running, acknowledged in the transaction that records its outcome.

Django-Q2's monitor process acknowledges (deletes) each ORM broker message
after the worker is done with it, in a write transaction of its own: on
SQLite's single writer, one more turn per task, taken by a process that
does nothing else. With the ORM broker on the engine's database, the
engine deletes the message in the transaction that stores the attempt's
outcome instead (so the message is gone exactly when the outcome is kept,
as the outbox in dispatch.py writes it exactly when its task is queued) and
takes its ``ack_id`` off the task, leaving the monitor nothing to do.

Django-Q2's ``pre_execute`` and ``post_execute_in_worker`` signals, sent in
the worker process around the function, carry the task with its ``ack_id``.
A message whose attempt records nothing (a repeated delivery, a task that
raised before its outcome was stored) is still acknowledged by the monitor.
"""

import threading

from django.db import transaction
from django.dispatch import receiver
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signals import post_execute_in_worker, pre_execute

from ..db import sql
from . import dispatch

_running = threading.local()


@receiver(pre_execute, dispatch_uid="flowforge-inbox-start")
def _start(sender, func, task, **kwargs):
    engine_message = task.get("func") == dispatch.WORKER_ENTRY and dispatch.queue_in_this_database()
    _running.ack_id = task.get("ack_id") if engine_message else None
    _running.acknowledged = False


def acknowledge():
    """Delete the message being run, as part of the current transaction (once per message)."""
    ack_id = getattr(_running, "ack_id", None)
    if ack_id is None:
        return
    _running.ack_id = None
    sql.delete(OrmQ, {"pk": ack_id}, using=Conf.ORM)
    transaction.on_commit(lambda: setattr(_running, "acknowledged", True))


@receiver(post_execute_in_worker, dispatch_uid="flowforge-inbox-done")
def _done(sender, func, task, **kwargs):
    if getattr(_running, "acknowledged", False):
        task.pop("ack_id", None)  # deleted with the outcome: nothing left for the monitor
    _running.ack_id = None
    _running.acknowledged = False
