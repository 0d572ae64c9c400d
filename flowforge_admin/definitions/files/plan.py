"""What importing a file would change: per flow, the difference between the file and the database.

:class:`ImportPlan` is the preview the admin shows and ``import_flows``
prints: either the file's issues, or a :class:`FlowChange` per flow (created,
changed or unchanged, with the flow settings, tasks, dependencies and
schedules it adds, changes or removes). :func:`compare` makes a FlowChange
from a flow's new spec and what is stored; :func:`change_message` says it in
one line for the flow's admin History.
"""

from dataclasses import dataclass, field

from ...models import Flow
from ..spec import FlowSpec

TASK_COMPARED_FIELDS = [
    "parent",
    "function",
    "verbose_name",
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
]


@dataclass
class FlowChange:
    """What importing a file does to one flow (the preview)."""

    name: str
    status: str  # created, changed, unchanged
    spec: FlowSpec
    paused: bool
    schedules: list | None  # None: the file has no schedules column; leave them
    flow_fields: list = field(default_factory=list)
    tasks_added: list = field(default_factory=list)
    tasks_removed: list = field(default_factory=list)
    tasks_changed: list = field(default_factory=list)  # (task, [fields])
    deps_added: list = field(default_factory=list)  # (task, upstream)
    deps_removed: list = field(default_factory=list)
    schedules_added: list = field(default_factory=list)
    schedules_changed: list = field(default_factory=list)
    schedules_removed: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # applied anyway; the preview says them


@dataclass
class ImportPlan:
    flows: list = field(default_factory=list)
    issues: list = field(default_factory=list)

    @property
    def is_valid(self):
        return not self.issues

    @property
    def changes(self):
        return [change for change in self.flows if change.status != "unchanged"]

    def summary(self):
        """Return the preview as lines of text, one flow after the other."""
        lines = []
        for change in self.flows:
            lines.append(f"{change.status} {change.name}")
            for label, items in _change_items(change):
                if items:
                    lines.append(f"  {label}: {', '.join(items)}")
            lines += [f"  warning: {warning}" for warning in change.warnings]
        counts = dict.fromkeys(("created", "changed", "unchanged"), 0)
        for change in self.flows:
            counts[change.status] += 1
        lines.append(
            f"{counts['created']} flow(s) created, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged."
        )
        return lines


# A History line names at most this many items of each kind (a file may add 20 000 tasks).
MESSAGE_ITEMS = 20


def change_message(change):
    """Return what importing did to one flow, in one line (for its admin History)."""
    parts = []
    for label, items in _change_items(change):
        if items:
            shown = ", ".join(items[:MESSAGE_ITEMS])
            more = f" and {len(items) - MESSAGE_ITEMS} more" if len(items) > MESSAGE_ITEMS else ""
            parts.append(f"{label}: {shown}{more}")
    return "; ".join(parts)


def _change_items(change):
    return [
        ("flow settings changed", change.flow_fields),
        ("tasks added", change.tasks_added),
        ("tasks removed", change.tasks_removed),
        ("tasks changed", [f"{name} ({', '.join(fields)})" for name, fields in change.tasks_changed]),
        ("dependencies added", [f"{task} <- {up}" for task, up in change.deps_added]),
        ("dependencies removed", [f"{task} <- {up}" for task, up in change.deps_removed]),
        ("schedules added", change.schedules_added),
        ("schedules changed", change.schedules_changed),
        ("schedules removed", change.schedules_removed),
    ]


def compare(spec, given, stored, stored_spec, stored_schedules):
    """Return the :class:`FlowChange` turning the stored flow (or nothing) into ``spec``."""
    paused = given.get("flow_paused")
    if paused is None:
        paused = stored.is_paused if stored is not None and "flow_paused" not in given else False
    schedules = given.get("flow_schedules", None) if "flow_schedules" in given else None
    if "flow_schedules" in given and schedules is None:
        schedules = []
    change = FlowChange(name=spec.name, status="created", spec=spec, paused=paused, schedules=schedules)
    if stored is None:
        change.tasks_added = [task.name for task in spec.tasks]
        change.deps_added = [(task.name, up) for task in spec.tasks for up in sorted(task.depends_on)]
        change.schedules_added = [data["name"] for data in schedules or []]
        return change
    _compare_flow_fields(change, spec, stored_spec, stored.is_paused)
    _compare_tasks(change, spec, stored_spec)
    if schedules is not None:
        _compare_schedules(change, schedules, stored_schedules)
    changed = any(items for _, items in _change_items(change))
    change.status = "changed" if changed else "unchanged"
    if stored.origin == Flow.Origin.CODE and _changes_code_definition(change):
        change.warnings.append(CODE_FLOW_WARNING % {"flow": spec.name})
    return change


# Said for each flow registered from code whose definition an import changes: the
# import is applied (a hot fix may be wanted), but it does not last.
CODE_FLOW_WARNING = (
    "flow %(flow)s is defined in code (register_task_pipeline): the next manage.py sync_flows "
    "puts the code's definition back, undoing this import; change the code to keep it"
)


def _changes_code_definition(change):
    """Whether ``change`` touches what registration from code rewrites (not paused, not schedules)."""
    code_fields = [name for name in change.flow_fields if name != "paused"]
    parts = (code_fields, change.tasks_added, change.tasks_removed, change.tasks_changed)
    return any(parts) or bool(change.deps_added or change.deps_removed)


def _compare_flow_fields(change, spec, stored_spec, stored_paused):
    for name in ("display_name", "description", "params", "params_schema", "max_active_runs"):
        if getattr(spec, name) != getattr(stored_spec, name):
            change.flow_fields.append(name)
    if change.paused != stored_paused:
        change.flow_fields.append("paused")


def _sibling_positions(spec):
    positions, counts = {}, {}
    for task in spec.tasks:
        counts[task.parent] = counts.get(task.parent, 0) + 1
        positions[task.name] = counts[task.parent]
    return positions


def _compare_tasks(change, spec, stored_spec):
    new = {task.name: task for task in spec.tasks}
    old = {task.name: task for task in stored_spec.tasks}
    new_positions, old_positions = _sibling_positions(spec), _sibling_positions(stored_spec)
    change.tasks_added = [name for name in new if name not in old]
    change.tasks_removed = [name for name in old if name not in new]
    for name, task in new.items():
        if name not in old:
            change.deps_added += [(name, up) for up in sorted(task.depends_on)]
            continue
        before = old[name]
        fields = [f for f in TASK_COMPARED_FIELDS if getattr(task, f) != getattr(before, f)]
        if new_positions[name] != old_positions[name]:
            fields.append("position")
        if fields:
            change.tasks_changed.append((name, fields))
        change.deps_added += [(name, up) for up in sorted(set(task.depends_on) - set(before.depends_on))]
        change.deps_removed += [(name, up) for up in sorted(set(before.depends_on) - set(task.depends_on))]
    for name in change.tasks_removed:
        change.deps_removed += [(name, up) for up in sorted(old[name].depends_on)]


def _compare_schedules(change, schedules, stored_schedules):
    new = {data["name"]: data for data in schedules}
    old = {data["name"]: data for data in stored_schedules}
    change.schedules_added = [name for name in new if name not in old]
    change.schedules_removed = [name for name in old if name not in new]
    change.schedules_changed = [name for name in new if name in old and new[name] != old[name]]
