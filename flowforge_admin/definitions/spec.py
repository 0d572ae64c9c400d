"""Flow definitions as plain data: the one shape every entrance produces.

Python registration, admin forms and import files each turn what they are
given into a :class:`FlowSpec`; :mod:`flowforge_admin.definitions.rules` checks it
and :mod:`flowforge_admin.definitions.store` writes it. Values are kept as given (an
import file may hold a string where a number belongs) so that validation can
say exactly what is wrong and where.
"""

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

# The keys a task may have in the predecessor's ``pipeline`` dict form.
PIPELINE_TASK_KEYS = frozenset(
    {
        "function",
        "depends_on",
        "verbose_name",
        "nested_tasks",
        "params",
        "retries",
        "retry_delay",
        "timeout",
        "pool",
        "pool_slots",
        "queue",
        "sensor",
        "map_over",
        "map_param",
        "approval",
    }
)

# The guide for users of the predecessor, django-flow-forge (in this repository).
MIGRATION_GUIDE = "docs/migrating-from-django-flow-forge.md"

# Task keys django-flow-forge had and Flow Forge does not, with what to write instead.
# Registration refuses them with this hint and the guide's path; a test checks that
# the guide names every one of them.
PREDECESSOR_TASK_KEYS = {
    "depends_bidirectionally_with": (
        "a dependency both ways would be a cycle; nest the task in that task's nested_tasks "
        "(what the predecessor's examples meant by it) or use depends_on"
    ),
}


@dataclass(frozen=True)
class TaskSpec:
    """One task: its place in the tree, what it runs and what it waits for."""

    name: str
    parent: str | None = None
    function: str = ""
    verbose_name: str = ""
    params: dict = field(default_factory=dict, hash=False)
    retries: int = 0
    retry_delay: int = 0
    timeout: int | None = None
    queue: str = ""
    depends_on: tuple = ()
    pool: str = ""
    pool_slots: int = 1
    # None: an ordinary task; a dict: a sensor (definitions/sensors.py).
    sensor: dict | None = field(default=None, hash=False)
    # Mapped task: one instance per item of this upstream task's output (a list), given as map_param.
    map_over: str = ""
    map_param: str = ""
    # None: an ordinary task; a dict: an approval step, decided by a person (definitions/approvals.py).
    approval: dict | None = field(default=None, hash=False)

    def canonical(self):
        """Return the task as JSON-ready data; dependency order is not meaningful.

        A key added after the first release is left out while it has its
        default, so that the definitions stored before it keep their hash
        (and their flows their version).
        """
        data = {
            "name": self.name,
            "parent": self.parent,
            "function": self.function,
            "verbose_name": self.verbose_name,
            "params": self.params,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "timeout": self.timeout,
            "depends_on": sorted(self.depends_on),
        }
        if self.pool:
            data["pool"] = self.pool
        if self.pool_slots != 1:
            data["pool_slots"] = self.pool_slots
        if self.queue:
            data["queue"] = self.queue
        if self.sensor is not None:
            data["sensor"] = self.sensor
        if self.map_over:
            data["map_over"] = self.map_over
        if self.map_param:
            data["map_param"] = self.map_param
        if self.approval is not None:
            data["approval"] = self.approval
        return data


@dataclass(frozen=True)
class FlowSpec:
    """A flow and its tasks, listed parents first in sibling order."""

    name: str
    tasks: tuple = ()
    display_name: str = ""
    description: str = ""
    params: dict = field(default_factory=dict, hash=False)
    params_schema: dict | None = field(default=None, hash=False)
    # An operating setting, like the labels: not part of the definition's version.
    max_active_runs: int | None = None

    def signature(self):
        """Return a hash of everything a definition version covers.

        Tasks, their order, nesting and dependencies, and the flow's default
        parameters and their schema. Display name and description are labels,
        not definition, and are left out.
        """
        data = {
            "params": self.params,
            "params_schema": self.params_schema,
            "tasks": [task.canonical() for task in self.tasks],
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr)
        return hashlib.sha256(text.encode()).hexdigest()

    def replace_task(self, old_name, new_task):
        """Return a copy where ``old_name`` (or, when None, a new task) becomes ``new_task``.

        References to a renamed task (parents, dependencies) follow the new name.
        A new task goes last among its siblings, as the tree inserts it.
        """
        tasks = []
        for task in self.tasks:
            if old_name is not None and task.name == old_name:
                tasks.append(new_task)
                continue
            if old_name is not None and old_name != new_task.name:
                task = _rename_references(task, old_name, new_task.name)
            tasks.append(task)
        if old_name is None:
            tasks.append(new_task)
        return dataclasses.replace(self, tasks=tuple(preorder(tasks)))


def _rename_references(task, old, new):
    parent = new if task.parent == old else task.parent
    depends_on = tuple(new if name == old else name for name in task.depends_on)
    return dataclasses.replace(task, parent=parent, depends_on=depends_on)


def preorder(tasks):
    """Return ``tasks`` with every parent before its children, keeping sibling order.

    Tasks whose parent is unknown, or that sit in a nesting cycle, are kept at
    the end in their given order so that validation can report them.
    """
    children = {}
    names = {task.name for task in tasks}
    roots = []
    for task in tasks:
        if task.parent is None or task.parent not in names:
            roots.append(task)
        else:
            children.setdefault(task.parent, []).append(task)
    ordered, seen = [], set()
    stack = list(reversed(roots))
    while stack:
        task = stack.pop()
        if id(task) in seen:
            continue
        seen.add(id(task))
        ordered.append(task)
        stack.extend(reversed(children.get(task.name, [])))
    ordered.extend(task for task in tasks if id(task) not in seen)
    return ordered
