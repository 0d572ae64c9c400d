"""The frozen definition a run executes, and the graph questions the engine asks of it."""

import functools
from collections.abc import Mapping

from ..definitions.graph import FlowGraph
from ..definitions.snapshots import stored_definition
from ..definitions.store import read_flow_spec, sync_pending_versions
from ..models import Flow


class _Moved(Exception):
    """The flow's definition changed between reading its signature and its tasks."""


def take_snapshot(flow):
    """Return the JSON snapshot of ``flow``'s definition, stored on each run (``flow`` is refreshed).

    The dict is shared, not copied: one definition gives the same dict to
    every launch of this process, so read it and never change it. Reading a
    5 000-task definition takes 40-100 ms; a launch must not pay it each time.
    """
    sync_pending_versions()  # edits made in this transaction: their version first
    flow.refresh_from_db(fields=["name", "version", "definition_hash"])
    if flow.definition_hash:
        try:
            return _snapshot_of(flow.pk, flow.name, flow.version, flow.definition_hash)
        except _Moved:
            pass  # edited meanwhile: read what is there now
    return _snapshot(flow, read_flow_spec(flow))


# The key is everything a snapshot holds: the flow's name, its version and its definition's
# hash (which covers the tasks, their order and dependencies, the parameters and their schema).
@functools.lru_cache(maxsize=8)
def _snapshot_of(flow_id, name, version, signature):
    flow = Flow.objects.get(pk=flow_id)
    spec = read_flow_spec(flow)
    if (flow.name, flow.version) != (name, version) or spec.signature() != signature:
        raise _Moved  # an exception is not cached
    return _snapshot(flow, spec)


def _snapshot(flow, spec):
    return {
        "flow": flow.name,
        "version": flow.version,
        "params": spec.params,
        "params_schema": spec.params_schema,
        "tasks": [task.canonical() for task in spec.tasks],
    }


class Snapshot:
    """A run's frozen definition: its data and parameters, with the graph of its tasks.

    The graph questions (parent, children, ancestors, upstream, dependents)
    are :class:`~flowforge_admin.definitions.graph.FlowGraph`'s, asked of
    ``self.graph``; they are repeated here because the engine asks them of
    the snapshot at every step.
    """

    def __init__(self, data, run_params=None, graph=None, dates=(None, None, None)):
        self.data = data
        # The run's (logical date, data interval start, data interval end).
        self.dates = dates
        self.params = data.get("params") or {}
        self.run_params = run_params or {}
        self.graph = graph if graph is not None else FlowGraph.from_dicts(data["tasks"])
        # {name: the task's stored data}; a mapped instance's name ("train[3]") gives its task's.
        self.tasks = _TaskRecords(self.graph.records)
        self.names = self.graph.names
        self.children = self.graph.children
        self.dependents = self.graph.dependents
        self.parent = self.graph.parent
        self.ancestors = self.graph.ancestors
        self.upstream = self.graph.upstream

    def function(self, name):
        return self.tasks[name]["function"]

    def is_group(self, name):
        """Whether ``name`` holds tasks (a mapped instance, not in the graph, never does)."""
        return bool(self.children.get(name))


class _TaskRecords(Mapping):
    """The snapshot's task records, where a mapped instance ("train[3]") finds its task's ("train")."""

    __slots__ = ("_records",)

    def __init__(self, records):
        self._records = records

    def __getitem__(self, name):
        try:
            return self._records[name]
        except KeyError:
            mapped = instance_of(name)
            if mapped is None:
                raise
            return self._records[mapped[0]]

    def __iter__(self):
        return iter(self._records)

    def __len__(self):
        return len(self._records)

    def __contains__(self, name):
        return name in self._records


def instance_name(name, index):
    """The task run name of instance ``index`` of mapped task ``name`` (task names hold no brackets)."""
    return f"{name}[{index}]"


def instance_of(name):
    """Return (task name, map index) of a mapped instance's name ("train[3]"), or None for a task's."""
    if not name.endswith("]"):
        return None
    task, bracket, index = name[:-1].partition("[")
    if not bracket or not index.isdigit():
        return None
    return task, int(index)


def snapshot_of(run_id, created_at):
    """Return the run's Snapshot (with its parameters), read once per process.

    The reading and its cache are :func:`~flowforge_admin.definitions.snapshots.stored_definition`'s
    (keyed by id and creation time); the Snapshot wraps what it returns
    without copying it.
    """
    stored = stored_definition(run_id, created_at)
    return Snapshot(stored.data, run_params=stored.run_params, graph=stored.graph, dates=stored.dates)
