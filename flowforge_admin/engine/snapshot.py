"""The frozen definition a run executes, and the graph questions the engine asks of it."""

from ..definitions.graph import FlowGraph
from ..definitions.snapshots import stored_definition
from ..definitions.store import read_flow_spec


def take_snapshot(flow):
    """Return the JSON snapshot of ``flow``'s definition, stored on each run."""
    spec = read_flow_spec(flow)
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
        self.tasks = self.graph.records  # {name: the task's stored data}
        self.names = self.graph.names
        self.children = self.graph.children
        self.dependents = self.graph.dependents
        self.parent = self.graph.parent
        self.is_group = self.graph.is_group
        self.ancestors = self.graph.ancestors
        self.upstream = self.graph.upstream

    def function(self, name):
        return self.tasks[name]["function"]


def snapshot_of(run_id, created_at):
    """Return the run's Snapshot (with its parameters), read once per process.

    The reading and its cache are :func:`~flowforge_admin.definitions.snapshots.stored_definition`'s
    (keyed by id and creation time); the Snapshot wraps what it returns
    without copying it.
    """
    stored = stored_definition(run_id, created_at)
    return Snapshot(stored.data, run_params=stored.run_params, graph=stored.graph, dates=stored.dates)
