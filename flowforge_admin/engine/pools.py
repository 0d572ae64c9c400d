"""Pool slots: a task whose pool is full waits, pending and holding no worker, until a slot frees.

A task run holds ``pool_slots`` of its pool's slots while it is queued,
running or waiting to retry (``TASK_HOLDING_SLOTS``). The slots in use are counted from
those task runs, not kept in a counter, so a slot held by a worker that died
is given back when its task run moves on (the lost-work check moves it).

Taking slots (:func:`take_slots`) happens where a change writes the task
runs it queued (``RunChange._write_queued``), under the run's lock and then
the lock of each limited pool involved, taken in name order so that two
changes never wait for each other in a circle. Under the pool's lock the
count sees every task run another change queued in that pool and committed,
so two workers never take the last slot twice. On SQLite, the one writer
serialises them anyway.

Freeing slots costs nothing at the time: the change that moved a task run
out of ``TASK_HOLDING_SLOTS`` asks, after its commit, for the waiting task runs of that
pool to be started (:func:`wake`), oldest first, each under its own run's
lock. The lost-work check wakes every pool that has waiters as a backstop.
"""

import logging
import time

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..models import Pool, TaskRun
from ..models.pools import DEFAULT_POOL, slots_in_use, stored_names
from ..states import TaskState

logger = logging.getLogger("flowforge_admin.engine")

# How many waiting task runs one look at a pool reads.
WAKE_BATCH = 200


def pool_of(snapshot, name):
    """Return the pool task ``name`` of a run's snapshot takes slots of, or None for a group.

    A group holds no slot: its tasks do (registration refuses a pool on a group).
    """
    if snapshot.is_group(name):
        return None
    return snapshot.tasks[name].get("pool") or DEFAULT_POOL


# The default pool's limit, as this process last read it: (read until, slots).
# Every task that names no pool is in the default pool, so reading its limit
# at every step of every run would cost each hop a query; it is read again
# after DEFAULT_LIMIT_SECONDS instead (and at once when this process edits a
# pool). Named pools are read at each use. Waking waiters reads afresh.
DEFAULT_LIMIT_SECONDS = 5.0
_default_limit = [0.0, None]


def default_limit():
    """Return the default pool's slots (None: unlimited), read at most every DEFAULT_LIMIT_SECONDS."""
    now = time.monotonic()
    if now >= _default_limit[0]:
        slots = Pool.objects.filter(name=DEFAULT_POOL).values_list("slots", flat=True).first()
        _default_limit[:] = [now + DEFAULT_LIMIT_SECONDS, slots]
    return _default_limit[1]


def forget_default_limit(**kwargs):
    """Read the default pool's limit again at its next use (a pool was saved or deleted here)."""
    _default_limit[0] = 0.0


def limits(names, *, fresh=False):
    """Return {pool name: slots} of the limited pools among ``names`` (at most one query).

    The default pool's limit comes from :func:`default_limit` unless ``fresh``.
    """
    names = set(names)
    found = {}
    if DEFAULT_POOL in names and not fresh:
        names.discard(DEFAULT_POOL)
        if (slots := default_limit()) is not None:
            found[DEFAULT_POOL] = slots
    if not names:
        return found
    found.update(
        Pool.objects.filter(name__in=sorted(names), slots__isnull=False).values_list("name", "slots")
    )
    return found


def take_slots(requests, limited):
    """Decide which of ``requests`` may be queued; return the names that must wait.

    ``requests`` is a list of (task name, pool, slots) in the order they were
    made, each in one of the ``limited`` pools ({pool: slots}). Their rows
    are locked (in name order) before their use is counted, and the locks
    are held until the change commits.
    """
    if not requests:
        return []
    # Lock, then count: the count sees everything committed before the lock was granted.
    list(Pool.objects.select_for_update().filter(name__in=sorted(limited)).order_by("name").values_list("pk"))
    used = slots_in_use(list(limited))
    waiting = []
    for name, pool, slots in requests:
        if pool not in limited:
            continue
        if used[pool] + slots <= limited[pool]:
            used[pool] += slots
        else:
            waiting.append(name)
    return waiting


def wake_on_commit(pools):
    """Start what waits for ``pools`` once the current transaction commits (their slots freed)."""
    if pools:
        names = sorted(pools)
        transaction.on_commit(lambda: wake(names))


def wake(pools):
    """Start the task runs waiting for ``pools``, oldest first, while slots are free; return how many started."""
    from .advance import start_waiting  # advance imports this module's callers
    from .transitions import changing

    started = 0
    for pool in sorted(set(pools)):
        while True:
            waiting = list(
                TaskRun.objects.filter(
                    pool__in=stored_names(pool), pool_waiting_since__isnull=False, status=TaskState.PENDING
                )
                .order_by("pool_waiting_since", "id")
                .values_list("run_id", "task_name")[:WAKE_BATCH]
            )
            by_run = {}
            for run_id, name in waiting:
                by_run.setdefault(run_id, []).append(name)
            queued = 0
            for run_id, names in by_run.items():
                with changing(run_id) as change:
                    start_waiting(change, names)
                queued += sum(change.status(name) == TaskState.QUEUED for name in names)
                if change.waiting_for_pool.intersection(names):
                    break  # no more room in the pool
            started += queued
            # Read the next batch only when this one all started: a task that
            # could not (its upstream was cleared meanwhile) must not be read again.
            if queued < len(waiting) or len(waiting) < WAKE_BATCH:
                break
    return started


def waiting_pools():
    """The pools some task run waits for (the lost-work check wakes them)."""
    # Only the marker: it is cleared as a task run leaves pending, and the partial index holds exactly these.
    names = (
        TaskRun.objects.filter(pool_waiting_since__isnull=False)
        .order_by()
        .values_list("pool", flat=True)
        .distinct()
    )
    return sorted({name or DEFAULT_POOL for name in names})


@receiver(post_save, sender=Pool, dispatch_uid="flowforge_admin.pool_saved")
@receiver(post_delete, sender=Pool, dispatch_uid="flowforge_admin.pool_deleted")
def _pool_changed(sender, instance, **kwargs):
    """A pool's limit changed (or it went): read it again, and start what now fits, after the commit."""
    forget_default_limit()
    name = instance.name
    transaction.on_commit(lambda: wake([name]))
