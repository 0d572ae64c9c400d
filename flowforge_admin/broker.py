"""Django-Q2's ORM broker, polling quickly while work flows and slowly when idle.

The ORM broker looks for new messages every ``poll`` seconds when the queue
is empty, so every hop of a chain of tasks waits up to ``poll`` (199 ms per
hop at the default 0.2 s), while a short ``poll`` costs CPU all day on an
idle machine (8 % of a core at 0.01 s). This broker polls every
``FLOWFORGE_FAST_POLL`` seconds (0.01) for ``FLOWFORGE_FAST_POLL_FOR``
seconds (5) after it last found work, then falls back to the cluster's
``poll``: a flow's chain runs at the fast rate, an idle cluster costs what
Django-Q2's default costs. Named in ``Q_CLUSTER["broker_class"]``.
"""

import time

from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ

from .conf import get_setting
from .db import sql


class AdaptiveORM(ORM):
    def __init__(self, list_key=None):
        super().__init__(list_key=list_key)
        self._last_work = float("-inf")

    def dequeue(self):
        tasks = self._claim_batch()
        if tasks:
            self._last_work = time.monotonic()
            return tasks
        busy = time.monotonic() - self._last_work < get_setting("FLOWFORGE_FAST_POLL_FOR")
        time.sleep(get_setting("FLOWFORGE_FAST_POLL") if busy else Conf.POLL)
        return None

    def _claim_batch(self):
        """Lock up to ``bulk`` due messages for this cluster in one statement; return (id, payload) pairs.

        Django-Q2's ORM broker locks each message with an update of its own:
        on SQLite, a write transaction per message that waits its turn behind
        the workers' writes. A message another cluster locked in between no
        longer matches ``lock < now`` and is left to it.
        """
        now = timezone.now()
        due = list(
            self.get_connection()
            .filter(key=self.list_key, lock__lt=now)
            .order_by("pk")
            .values_list("pk", flat=True)[: Conf.BULK]
        )
        if not due:
            return []
        locked = sql.update(
            OrmQ,
            {"pk": due, "lock": sql.Below(now)},
            {"lock": self.timeout(None)},
            returning=("id", "payload"),
            using=Conf.ORM,
        )
        return sorted(locked)  # oldest first, as queued
