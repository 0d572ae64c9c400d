"""Where ready tasks go: Django-Q2's queue, or the in-process queue of ``run_flow``.

The engine calls :func:`enqueue_all` (or :func:`enqueue`) and
:func:`enqueue_later` and does not care which; ``run_flow`` swaps in a
:class:`LocalQueue` for the duration of a run.
"""

import contextlib
import contextvars
import functools
import heapq
import itertools
import sys

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule
from django_q.tasks import async_task

from ..db import sql
from ..queues import queue_name

# Django-Q2 calls functions by dotted path. These two stay strings because
# worker.py and recovery.py import this module; tests/engine/test_entry_points.py
# checks that each resolves to its function.
WORKER_ENTRY = "flowforge_admin.engine.worker.execute_task"
RETRY_ENTRY = "flowforge_admin.engine.recovery.resume_retry"
SENSOR_ENTRY = "flowforge_admin.engine.sensors.check_due"
APPROVAL_ENTRY = "flowforge_admin.engine.approvals.time_out"

_local_queue = contextvars.ContextVar("flowforge_local_queue", default=None)


def enqueue(task_run_id, attempt, *, run_id, timeout=None, queue=""):
    """Send one attempt of a task run to a worker of ``queue``, as the current transaction commits."""
    enqueue_all(run_id, [(task_run_id, attempt, timeout, queue)])


def enqueue_all(run_id, attempts):
    """Send ``attempts`` ((task run id, attempt, timeout, queue) of one run) to workers, as the transaction commits.

    A task's queue is the Django-Q2 cluster that takes it (empty: the
    project's own, see :mod:`flowforge_admin.queues`). Each queue's messages
    go out together: one Redis command, or one INSERT of the ORM broker's
    rows, for a launch that starts a thousand tasks.
    """
    local = _local_queue.get()
    if local is not None:
        # run_flow runs every task in this process, whatever its queue.
        for task_run_id, attempt, timeout, _queue in attempts:
            local.put(task_run_id, attempt, run_id, timeout)
        return
    batches = {}
    for task_run_id, attempt, timeout, queue in attempts:
        name = queue_name(queue)
        batch = batches.get(name) or batches.setdefault(name, _Batch(_broker(name)))
        q_options = {
            "group": str(run_id),
            "task_name": f"flowforge-{task_run_id}-{attempt}",
            # The engine records results on the TaskRun; a second copy in
            # Django-Q2's result table would only cost a write per task.
            "save": False,
            "broker": batch,
        }
        if timeout:
            # Left out when unset: Django-Q2 then applies the cluster's own timeout.
            q_options["timeout"] = timeout
        # Django-Q2 builds and signs the message, and hands it to the batch.
        async_task(WORKER_ENTRY, task_run_id, attempt, run_id, q_options=q_options)
    for batch in batches.values():
        if queue_in_this_database():
            # The messages are rows written in this transaction: they exist exactly
            # when the change that queued them does, and on SQLite's single writer
            # they cost no write transaction of their own.
            batch.send()
        else:
            # A worker must not see a message before the change is visible.
            transaction.on_commit(batch.send)


class _Batch:
    """Stands in for the broker in ``async_task`` and keeps its messages, to send them in one go."""

    def __init__(self, broker):
        self.broker = broker
        self.list_key = broker.list_key
        self.packs = []

    def enqueue(self, pack):
        self.packs.append(pack)
        return len(self.packs)  # Django-Q2 logs it as the message's id: its place in the batch

    def send(self):
        broker, packs = self.broker, self.packs
        if _is_redis(broker):
            broker.connection.rpush(broker.list_key, *packs)
        elif isinstance(broker, ORM):
            # What ORM.enqueue writes, for every message at once.
            key, now = broker.list_key or Conf.CLUSTER_NAME, timezone.now()
            sql.insert(OrmQ, ("key", "payload", "lock"), [(key, pack, now) for pack in packs], using=Conf.ORM)
        else:
            for pack in packs:
                broker.enqueue(pack)


def _is_redis(broker):
    """Whether ``broker`` is Django-Q2's Redis broker (not imported here: a host on the ORM broker has no redis)."""
    module = sys.modules.get("django_q.brokers.redis_broker")
    return module is not None and isinstance(broker, module.Redis)


def running_locally():
    """Whether the engine's enqueues go to ``run_flow``'s in-process queue."""
    return _local_queue.get() is not None


def nobody_decides():
    """Whether no person can decide an approval step here (``run_flow``, running a whole flow in its process)."""
    local = _local_queue.get()
    return local is not None and local.nobody_decides


def enqueue_later(task_run_id, attempt, when):
    """Resume a retrying task run at ``when``.

    Django-Q2 has no delayed enqueue: a one-off schedule fires it, and its
    scheduler looks at schedules every 30 s, so the delay has a 30 s
    resolution (the lost-work check is the backstop).
    """
    local = _local_queue.get()
    if local is not None:
        local.put_later(task_run_id, attempt, when)
        return
    _schedule_once(RETRY_ENTRY, (task_run_id, attempt), when, name=f"flowforge retry {task_run_id}-{attempt}")


def call_soon(entry, args, *, name):
    """Have a worker of the project's cluster call ``entry(*args)``, as the current transaction commits.

    ``entry`` must do nothing harmful when called twice: delivery is at least once.
    Not for run_flow's in-process queue (its launch starts the run itself).
    """
    broker = _broker()
    transaction.on_commit(
        lambda: async_task(entry, *args, q_options={"task_name": name, "save": False, "broker": broker})
    )


def call_later(entry, args, when, *, name):
    """Have a worker call ``entry(*args)`` at ``when``: the engine's exact timer (a sensor's next check, an approval's timeout).

    On Django-Q2's ORM broker in the engine's database, a message written
    now that no worker may take before ``when`` (the broker takes only
    messages whose ``lock`` is past): exact to the broker's poll, written
    in the change's transaction, and no worker holds it meanwhile. Otherwise
    (Redis) a one-off Django-Q2 schedule, to 30 s (the scheduler's tick).
    Either way the lost-work check is the backstop, and ``entry`` must do
    nothing when called twice or too late. (Retries still use the schedule:
    :func:`enqueue_later`.)
    """
    local = _local_queue.get()
    if local is not None:
        local.call_later(entry, args, when)
        return
    if queue_in_this_database():
        batch = _Batch(_broker())
        async_task(entry, *args, q_options={"task_name": name, "save": False, "broker": batch})
        key = batch.list_key or Conf.CLUSTER_NAME
        sql.insert(
            OrmQ, ("key", "payload", "lock"), [(key, pack, when) for pack in batch.packs], using=Conf.ORM
        )
        return
    _schedule_once(entry, args, when, name=name)


def _schedule_once(entry, args, when, *, name):
    Schedule.objects.create(
        name=name,
        func=entry,
        args=repr(tuple(args)),
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=when,
    )


def _broker(queue=""):
    """The broker of ``queue`` (empty: the project's own cluster); one per queue and process."""
    return _queue_broker(queue_name(queue))


@functools.cache
def _queue_broker(name):
    """One broker per queue, and one connection per process, instead of new ones per enqueue."""
    broker = get_broker(name)
    default = queue_name("")
    if name != default:
        # The broker only differs by its list key: it shares the project cluster's connection.
        broker.connection = _queue_broker(default).connection
    return broker


@functools.cache
def queue_in_this_database():
    """Whether the broker is Django-Q2's ORM broker on the engine's own database."""
    return isinstance(_broker(), ORM) and Conf.ORM == DEFAULT_DB_ALIAS


class LocalQueue:
    """Attempts to run in this process, in order; delayed ones when they are due."""

    #: Set by run_flow, whose loop ends when nothing is ready: an approval step fails there at once.
    nobody_decides = False

    def __init__(self):
        self._ready = []
        self._later = []
        self._order = itertools.count()

    def put(self, task_run_id, attempt, run_id, timeout):
        self._ready.append((task_run_id, attempt, run_id, timeout))

    def put_later(self, task_run_id, attempt, when):
        self.call_later(RETRY_ENTRY, (task_run_id, attempt), when)

    def call_later(self, entry, args, when):
        heapq.heappush(self._later, (when, next(self._order), entry, tuple(args)))

    def next_ready(self):
        """Return the next (task_run_id, attempt, run_id, timeout) to run now, or None."""
        return self._ready.pop(0) if self._ready else None

    def next_due(self):
        """Return (seconds to wait, *args) of the earliest timer (a retry's: task_run_id, attempt), or None."""
        due = self.next_call()
        return None if due is None else (due[0], *due[2])

    def next_call(self):
        """Return (seconds to wait, entry, args) of the earliest timer, or None."""
        if not self._later:
            return None
        when, _, entry, args = heapq.heappop(self._later)
        return max(0.0, (when - timezone.now()).total_seconds()), entry, args


@contextlib.contextmanager
def local_queue():
    """Route the engine's enqueues to a new LocalQueue while the block runs."""
    queue = LocalQueue()
    token = _local_queue.set(queue)
    try:
        yield queue
    finally:
        _local_queue.reset(token)
