"""The frozen definition a run executes, and the graph questions the engine asks of it."""

import functools

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
    """Read-only graph of a run's tasks (parents before children, in sibling order)."""

    def __init__(self, data, run_params=None):
        self.data = data
        self.params = data.get("params") or {}
        self.run_params = run_params or {}
        self.tasks = {task["name"]: task for task in data["tasks"]}
        self.names = [task["name"] for task in data["tasks"]]
        self.children = {name: [] for name in self.names}
        self.dependents = {name: [] for name in self.names}
        for task in data["tasks"]:
            if task["parent"] is not None:
                self.children[task["parent"]].append(task["name"])
            for upstream in task["depends_on"]:
                self.dependents[upstream].append(task["name"])

    def parent(self, name):
        return self.tasks[name]["parent"]

    def is_group(self, name):
        return bool(self.children[name])

    def function(self, name):
        return self.tasks[name]["function"]

    def ancestors(self, name):
        found = []
        parent = self.parent(name)
        while parent is not None:
            found.append(parent)
            parent = self.parent(parent)
        return found

    def upstream(self, name):
        """Return the tasks ``name`` waits for: its own dependencies and its groups'."""
        names = list(self.tasks[name]["depends_on"])
        for ancestor in self.ancestors(name):
            names.extend(self.tasks[ancestor]["depends_on"])
        return list(dict.fromkeys(names))

    def max_attempts(self, name):
        return self.tasks[name]["retries"] + 1


@functools.lru_cache(maxsize=256)
def snapshot_of(run_id, created_at):
    """Return the run's Snapshot (with its parameters), read once per process.

    Neither ever changes after launch. Keyed by id and creation time, so that
    a reused id (a test database, a restored backup) never finds another
    run's snapshot.
    """
    from ..models import FlowRun

    data, params = FlowRun.objects.values_list("definition__data", "params").get(pk=run_id)
    return Snapshot(data, run_params=params)
