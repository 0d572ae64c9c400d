"""Reading and writing whole flow definitions (:class:`FlowSpec`) in the database.

Writes are bulk operations, so that registering or importing a flow of
thousands of tasks takes a handful of queries instead of one insert (and one
tree shift) per task. The nested-set fields of django-mptt are computed here
for the whole flow at once, the way ``TreeManager.rebuild`` numbers a tree.

The store also keeps each flow's version: :func:`write_flow` sets it, and
any other edit of tasks, nesting, dependencies or default parameters,
whatever its entrance (admin, shell, command), is noticed by the receivers of
:mod:`flowforge_admin.definitions.receivers`, which call
:func:`sync_version_on_commit`: the version is synced once per flow when the
transaction commits. Writes that send no model signals bypass this:
``QuerySet.update()``, ``bulk_create``/``bulk_update`` and
``Task.objects.rebuild()``; after one of those, call :func:`sync_version`.
"""

from contextvars import ContextVar

from django.db import connection, transaction
from django.db.models import F, Max

from ..models import Flow, Pool, Task
from . import registry
from .spec import FlowSpec, TaskSpec, preorder

TASK_DATA_FIELDS = [
    "verbose_name",
    "function",
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
TREE_FIELDS = ["parent", "tree_id", "lft", "rght", "level"]
# The key of the advisory lock taken while new tree ids are handed out ("ffad").
TREE_ID_LOCK = 0x66666164
# True while write_flow runs, which sets the version itself.
_setting_version = ContextVar("flowforge_setting_version", default=False)


def read_task_rows(flow, extra_fields=()):
    """Return the flow's task rows (tree order) and ``{task id: [upstream names]}`` (two queries).

    Each row holds id, name, parent (a name), the definition fields and
    ``extra_fields``; the one read of tasks and dependencies, for the spec
    and for the definition's drawing.
    """
    rows = list(
        Task.objects.filter(flow=flow)
        .order_by("tree_id", "lft")
        .values("id", "name", "parent_id", *TASK_DATA_FIELDS, *extra_fields)
    )
    names = {row["id"]: row["name"] for row in rows}
    for row in rows:
        row["parent"] = names.get(row.pop("parent_id"))
    depends_on = {}
    for from_id, to_id in Task.depends_on.through.objects.filter(from_task__flow=flow).values_list(
        "from_task_id", "to_task_id"
    ):
        depends_on.setdefault(from_id, []).append(names[to_id])
    return rows, depends_on


def read_flow_spec(flow):
    """Return the stored definition of ``flow`` as a :class:`FlowSpec` (two queries)."""
    rows, depends_on = read_task_rows(flow)
    tasks = [
        TaskSpec(
            name=row["name"],
            parent=row["parent"],
            depends_on=tuple(sorted(depends_on.get(row["id"], ()))),
            **{field: row[field] for field in TASK_DATA_FIELDS},
        )
        for row in rows
    ]
    return FlowSpec(
        name=flow.name,
        tasks=tuple(tasks),
        display_name=flow.display_name,
        description=flow.description,
        params=flow.params,
        params_schema=flow.params_schema,
        max_active_runs=flow.max_active_runs,
    )


def sync_version(flow):
    """Raise the flow's version if its stored definition changed; return True if it did.

    Compares the stored definition with the one the version stands for, so
    that saving the same definition again keeps the version. Runs at commit
    after any edit of tasks, nesting, dependencies or default parameters
    (:func:`sync_version_on_commit`); call it yourself after a write that
    sends no signals. Return False too when a new flow's first definition is
    recorded.
    """
    signature = read_flow_spec(flow).signature()
    if signature == flow.definition_hash:
        return False
    # A flow just made in the admin has no recorded definition yet: its first
    # one is version 1, as for a registered or imported flow.
    bump = F("version") + 1 if flow.definition_hash else F("version")
    Flow.objects.filter(pk=flow.pk).update(version=bump, definition_hash=signature)
    had_definition = bool(flow.definition_hash)
    flow.refresh_from_db(fields=["version", "definition_hash", "updated_at"])
    return had_definition


def sync_version_on_commit(flow_id):
    """Sync the version of flow ``flow_id`` when the current transaction commits.

    However many edits a transaction makes, each flow is synced once, by one
    callback for all flows; a flow deleted meanwhile is skipped. Outside a
    transaction the sync happens at once.
    """
    if _setting_version.get():
        return
    pending = _pending_syncs()
    if pending is None:
        pending = _PendingSyncs()
        pending.flow_ids.add(flow_id)
        transaction.on_commit(pending)
    else:
        pending.flow_ids.add(flow_id)


def sync_pending_versions():
    """Sync now the versions that the current transaction would sync at commit.

    For a caller that reads the version before its transaction ends (the
    admin answers within its own); the sync at commit then has nothing left.
    """
    pending = _pending_syncs()
    if pending is not None:
        flow_ids, pending.flow_ids = pending.flow_ids, set()
        _sync_flows(flow_ids)


class _PendingSyncs:
    """The on_commit callback syncing the flows edited in one transaction."""

    def __init__(self):
        self.flow_ids = set()
        self.done = False

    def __call__(self):
        self.done = True
        _sync_flows(self.flow_ids)


def _pending_syncs():
    """Return the current transaction's :class:`_PendingSyncs` callback, or None.

    It is looked up among the connection's on_commit callbacks rather than
    kept aside, so that a rolled back transaction or savepoint, which drops
    its callbacks, also drops it. ``done`` covers callbacks that ran without
    a commit (``captureOnCommitCallbacks`` in tests leaves them in the list).
    """
    connection = transaction.get_connection()
    for entry in connection.run_on_commit:
        callback = entry[1]
        if isinstance(callback, _PendingSyncs) and not callback.done:
            return callback
    return None


def _sync_flows(flow_ids):
    if not flow_ids:
        return
    # The lock makes two transactions that edited one flow bump it once
    # each, in turn; a flow deleted after the edit is simply not found.
    with transaction.atomic():
        for flow in Flow.objects.select_for_update().filter(pk__in=flow_ids).order_by("pk"):
            sync_version(flow)


@transaction.atomic
def write_flow(spec, *, origin, clear=False):
    """Store a validated ``spec``; return ``(flow, outcome)``.

    ``outcome`` is ``"created"``, ``"changed"`` or ``"unchanged"``. An
    unchanged definition writes nothing but refreshed labels and function
    texts and keeps its version, with or without ``clear``. A changed one is
    updated in place (tasks keep their ids; tasks no longer listed are
    deleted), or rebuilt from scratch with ``clear``.
    """
    # The version is set here: the deletes and saves below queue no sync.
    token = _setting_version.set(True)
    try:
        return _write_flow(spec, origin, clear)
    finally:
        _setting_version.reset(token)


def _write_flow(spec, origin, clear):
    signature = spec.signature()
    flow = Flow.objects.select_for_update().filter(name=spec.name).first()
    texts = registry.describe_paths(task.function for task in spec.tasks)
    if flow is None:
        flow = Flow.objects.create(
            name=spec.name,
            display_name=spec.display_name,
            description=spec.description,
            params=spec.params,
            params_schema=spec.params_schema,
            max_active_runs=spec.max_active_runs,
            origin=origin,
            definition_hash=signature,
        )
        _write_tasks(flow, spec, texts, existing={})
        return flow, "created"

    _update_labels(flow, spec, origin)
    if flow.definition_hash == signature:
        _refresh_function_texts(flow, texts)
        return flow, "unchanged"
    if clear:
        Task.objects.filter(flow=flow).delete()
        existing = {}
    else:
        existing = {task.name: task for task in Task.objects.filter(flow=flow)}
    _write_tasks(flow, spec, texts, existing)
    flow.params, flow.params_schema = spec.params, spec.params_schema
    flow.definition_hash = signature
    flow.version += 1
    flow.save(update_fields=["params", "params_schema", "definition_hash", "version", "updated_at"])
    return flow, "changed"


def _update_labels(flow, spec, origin):
    labels = {
        "display_name": spec.display_name,
        "description": spec.description,
        "max_active_runs": spec.max_active_runs,
        "origin": origin,
    }
    changed = [name for name, value in labels.items() if getattr(flow, name) != value]
    for name in changed:
        setattr(flow, name, labels[name])
    if changed:
        flow.save(update_fields=[*changed, "updated_at"])


def _refresh_function_texts(flow, texts):
    # Docstrings and sources are captured text, not definition: refresh them
    # without a new version when a function's code changed.
    stored = Task.objects.filter(flow=flow).values_list("function", "docstring", "source").distinct()
    stale = {path for path, docstring, source in stored if path and texts.get(path) != (docstring, source)}
    for path in stale:
        docstring, source = texts[path]
        Task.objects.filter(flow=flow, function=path).update(docstring=docstring, source=source)


def ensure_pools(names):
    """Create the pools tasks name that do not exist yet, unlimited, for an operator to size in the admin."""
    names = sorted({name for name in names if name})
    if names:
        Pool.objects.bulk_create([Pool(name=name) for name in names], ignore_conflicts=True)


def _write_tasks(flow, spec, texts, existing):
    """Make the flow's tasks, tree and dependencies exactly those of ``spec``."""
    ordered = preorder(spec.tasks)
    kept = {task.name: existing[task.name] for task in ordered if task.name in existing}
    kept_ids = {node.pk for node in kept.values()}
    stored = {name: _row_values(node) for name, node in kept.items()}
    # Detach kept tasks whose parent goes, or the parent foreign key would
    # cascade the delete to them.
    Task.objects.filter(pk__in=kept_ids).exclude(parent__in=kept_ids).exclude(parent=None).update(parent=None)
    Task.objects.filter(flow=flow).exclude(pk__in=kept_ids).delete()

    ensure_pools(task.pool for task in ordered)
    nodes = {}
    for task in ordered:
        node = kept.get(task.name) or Task(flow=flow, name=task.name)
        node.docstring, node.source = texts.get(task.function, ("", ""))
        for field in TASK_DATA_FIELDS:
            setattr(node, field, getattr(task, field))
        nodes[task.name] = node

    tree_ids = sorted({node.tree_id for node in existing.values()})
    _number_trees(ordered, nodes, _tree_ids_for(ordered, tree_ids))

    # New tasks are inserted a tree level at a time, so that each one's
    # parent already has its id; then only the kept tasks that differ from
    # their stored row are updated.
    new_by_level = {}
    for task in ordered:
        node = nodes[task.name]
        node.parent = nodes[task.parent] if task.parent else None
        if node.pk is None:
            new_by_level.setdefault(node.level, []).append(node)
    for level in sorted(new_by_level):
        Task.objects.bulk_create(new_by_level[level], batch_size=500)
    for node in kept.values():
        node.parent_id = node.parent.pk if node.parent else None  # a parent may be new
    changed = [node for name, node in kept.items() if _row_values(node) != stored[name]]
    Task.objects.bulk_update(
        changed, [*TREE_FIELDS, *TASK_DATA_FIELDS, "docstring", "source"], batch_size=500
    )

    through = Task.depends_on.through
    through.objects.filter(from_task__flow=flow).delete()
    through.objects.bulk_create(
        [
            through(from_task_id=nodes[task.name].pk, to_task_id=nodes[upstream].pk)
            for task in ordered
            for upstream in task.depends_on
        ],
        batch_size=500,
    )


@transaction.atomic
def renumber_trees(flow):
    """Give the flow's trees fresh tree ids and renumber their nodes.

    For tasks written without django-mptt's help, such as a fixture loaded
    with ``loaddata``, whose tree ids may collide with trees already there.
    """
    ordered = preorder(read_flow_spec(flow).tasks)
    nodes = {task.name: task for task in Task.objects.filter(flow=flow)}
    _number_trees(ordered, nodes, _tree_ids_for(ordered, []))
    Task.objects.bulk_update(list(nodes.values()), TREE_FIELDS[1:], batch_size=500)


def _row_values(node):
    """Return what bulk_update would write for ``node``, to skip unchanged rows."""
    fields = ["parent_id", *TREE_FIELDS[1:], *TASK_DATA_FIELDS, "docstring", "source"]
    return tuple(getattr(node, field) for field in fields)


def _tree_ids_for(ordered, reusable):
    """Return one tree id per root: the flow's own first, then fresh ones."""
    roots = sum(1 for task in ordered if task.parent is None)
    if roots <= len(reusable):
        return reusable[:roots]
    _lock_new_tree_ids()
    start = (Task.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
    return reusable + list(range(start, start + roots - len(reusable)))


def _lock_new_tree_ids():
    """Take new tree ids one transaction at a time, until the current one ends.

    Two flows registered at once (two machines starting, two imports) would
    otherwise both read the same Max(tree_id) and share trees. On PostgreSQL a
    transaction-scoped advisory lock orders them; SQLite's IMMEDIATE
    transactions already let one writer in at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TREE_ID_LOCK])


def _number_trees(ordered, nodes, tree_ids):
    """Set django-mptt's nested-set fields of every node, roots in ``ordered`` order."""
    children = {}
    for task in ordered:
        children.setdefault(task.parent, []).append(task.name)

    def number(name, tree_id, left, level):
        node = nodes[name]
        node.tree_id, node.lft, node.level = tree_id, left, level
        right = left + 1
        for child in children.get(name, ()):
            right = number(child, tree_id, right, level + 1) + 1
        node.rght = right
        return right

    for tree_id, root in zip(tree_ids, children.get(None, ()), strict=True):
        number(root, tree_id, 1, 0)
