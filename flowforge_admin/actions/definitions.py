"""Saving a flow's definition from code: what ``register_task_pipeline`` writes.

The spec comes validated (:mod:`flowforge_admin.definitions.pipeline`); this
action stores it (:func:`flowforge_admin.definitions.store.write_flow`) and
remembers the task functions given as callables
(:func:`flowforge_admin.definitions.registry.remember`) in one transaction:
either both are written or neither.
"""

from django.contrib.admin.models import ADDITION, CHANGE

from ..definitions import registry, store
from ..models import Flow
from .base import Action


class SaveDefinitionAction(Action):
    """Store the validated ``spec`` as its flow; return ``(flow, outcome)`` as ``store.write_flow`` does.

    ``functions`` maps dotted paths to the callables to remember as allowed
    task functions. A user needs ``add_flow`` for a new flow and
    ``change_flow`` for an existing one; with a user, a created or changed
    flow gets an entry in the admin log ("``how``: created." / "``how``:
    definition changed."). An unchanged definition is not recorded.
    """

    def __init__(self, spec, *, functions=None, origin=Flow.Origin.CODE, clear=False, user=None, how=None):
        super().__init__(user=user)
        self.spec = spec
        self.functions = functions or {}
        self.origin = origin
        self.clear = clear
        self.how = how or "Registered from code"

    def get_permission(self):
        exists = Flow.objects.filter(name=self.spec.name).exists()
        return f"flowforge_admin.{'change' if exists else 'add'}_flow"

    def describe(self):
        return f"save flow {self.spec.name!r}"

    def perform(self):
        registry.remember(self.functions)
        return store.write_flow(self.spec, origin=self.origin, clear=self.clear)

    def log_entries(self, result):
        flow, outcome = result
        if outcome == "created":
            return [(flow, f"{self.how}: created.", ADDITION)]
        if outcome == "changed":
            return [(flow, f"{self.how}: definition changed.", CHANGE)]
        return []
