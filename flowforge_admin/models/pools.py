"""Pools: a number of slots shared by the tasks that name the pool, across flows and runs.

A task takes ``pool_slots`` of its pool's slots while it is queued, running
or waiting to retry; a task whose pool is full waits (pending, holding no
worker) until a slot frees. The engine counts the slots in use from the task
runs themselves, under the pool's row lock (:mod:`flowforge_admin.engine.pools`),
so a slot held by a worker that died is given back with its task run.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The pool of every task that names none.
DEFAULT_POOL = "default"


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
