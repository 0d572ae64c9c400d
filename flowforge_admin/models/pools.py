"""Pools: a number of slots shared by the tasks that name the pool, across flows and runs.

A task takes ``pool_slots`` of its pool's slots while it is queued, running
or waiting to retry; a task whose pool is full waits (pending, holding no
worker) until a slot frees. The engine counts the slots in use from the task
runs themselves, under the pool's row lock (:mod:`flowforge_admin.engine.pools`),
so a slot held by a worker that died is given back with its task run.
The read helpers below (slots in use, why a task waits) serve the engine and the admin alike.
"""

from django.db import models
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from ..states import TASK_HOLDING_SLOTS
from .runs import TaskRun

# The pool of every task that names none.
DEFAULT_POOL = "default"
# Task runs stored before pools were recorded have "": they belong to the default pool.
_STORED_NAMES = {DEFAULT_POOL: [DEFAULT_POOL, ""]}


class Pool(models.Model):
    name = models.CharField(
        _("name"), max_length=100, unique=True, help_text=_("Tasks name it in their 'pool' key.")
    )
    slots = models.PositiveIntegerField(
        _("slots"),
        null=True,
        blank=True,
        help_text=_("How many slots its tasks may hold at once. Empty: no limit."),
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last change"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("pool")
        verbose_name_plural = _("pools")

    def __str__(self):
        return self.name

    @property
    def is_limited(self):
        return self.slots is not None


def stored_names(pool):
    """The values of TaskRun.pool that mean ``pool``."""
    return _STORED_NAMES.get(pool, [pool])


def slots_in_use(pools):
    """Return {pool name: slots held} for ``pools`` (one query)."""
    stored = {name: pool for pool in pools for name in stored_names(pool)}
    used = dict.fromkeys(pools, 0)
    if not stored:
        return used
    for name, total in (
        TaskRun.objects.filter(pool__in=list(stored), status__in=TASK_HOLDING_SLOTS)
        .order_by()
        .values_list("pool")
        .annotate(total=Sum("pool_slots"))
    ):
        used[stored[name]] += total or 0
    return used


def describe_waits(waits):
    """Return {(pool, slots): why a task run needing ``slots`` of ``pool`` waits} (two queries for all).

    For example "waiting for pool gpu (1 of 1 slots used)".
    """
    if not waits:
        return {}
    names = sorted({pool or DEFAULT_POOL for pool, _ in waits})
    limits = dict(Pool.objects.filter(name__in=names, slots__isnull=False).values_list("name", "slots"))
    used = slots_in_use(names)
    texts = {}
    for pool, slots in waits:
        name = pool or DEFAULT_POOL
        limit = limits.get(name)
        if limit is None:
            text = f"waiting for pool {name} (no limit now: it starts at the next check)"
        elif slots > limit:
            text = f"waiting for pool {name}: it needs {slots} slots and the pool has {limit}"
        else:
            text = f"waiting for pool {name} ({used[name]} of {limit} slots used)"
        texts[pool, slots] = text
    return texts
