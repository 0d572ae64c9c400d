"""Mapped tasks (``map_over``): one task run per item of an upstream task's output.

The mapped task keeps its own task run, the "parent": when it would start,
it reads the output of the task it maps over (a JSON list, or an artifact
holding a sequence, loaded through the signed store) and, instead of
running, moves to ``running`` and gets one task run per item, its
instances, named ``"<task>[<map index>]"`` with ``map_index`` set. An
instance is an ordinary task run for the engine (claimed, retried, timed
out, logged, retried/cleared/marked on its own); only its name is not in
the graph, and :meth:`Snapshot.tasks <.snapshot.Snapshot>` gives it its
task's definition. When the last instance finishes, the parent takes their
outcome (all succeeded: succeeded, with the list of their outputs in map
index order, what its downstream tasks receive; otherwise the worst one) and
the run goes on from it as from any finished task.

Nothing here runs for a flow without mapped tasks.
"""

from django.db.models import Count

from ..artifacts import files
from ..conf import get_setting
from ..models import TaskRun
from ..states import TASK_ACTIVE, TASK_FINISHED, TASK_RERUNNABLE, TaskState
from .pools import pool_of
from .retries import attempts_allowed
from .snapshot import instance_name, instance_of

DEFAULT_PARAM = "item"
OUTCOME_ORDER = (TaskState.FAILED, TaskState.CANCELLED, TaskState.UPSTREAM_FAILED)


def map_param(task):
    return task.get("map_param") or DEFAULT_PARAM


def parent_of(name):
    """The mapped task an instance's name belongs to, or None for any other task run."""
    mapped = instance_of(name)
    return mapped[0] if mapped else None


def has_mapped_tasks(snapshot):
    return any(task.get("map_over") for task in snapshot.tasks.values())


def _instances(run_id, name):
    return TaskRun.objects.filter(run_id=run_id, map_index__isnull=False, task_name__startswith=f"{name}[")


def expand(change, name):
    """Start mapped task ``name`` (pending): create and queue its instances; return True if it finished at once.

    It fails, with no instance, when the output it maps over is not a
    sequence or has more items than ``FLOWFORGE_MAX_MAP_INSTANCES``; it
    succeeds at once, with the output ``[]``, when the sequence is empty.
    """
    task = change.snapshot.tasks[name]
    count, error = _item_count(change.run.pk, task["map_over"])
    cap = get_setting("FLOWFORGE_MAX_MAP_INSTANCES")
    if error is None and count > cap:
        error = f"{task['map_over']!r} gave {count} items to map over, more than FLOWFORGE_MAX_MAP_INSTANCES ({cap})"
    _drop_instances(change, name)  # those of an earlier round (the task was cleared or re-run)
    now = change.now
    if error is not None:
        change.move(
            name, TaskState.FAILED, expect=TaskState.PENDING, started_at=now, finished_at=now, error=error
        )
        return True
    if count == 0:
        change.move(
            name, TaskState.SUCCEEDED, expect=TaskState.PENDING, started_at=now, finished_at=now, output=[]
        )
        return True
    # The parent holds no pool slot: its instances do.
    change.move(name, TaskState.RUNNING, expect=TaskState.PENDING, started_at=now, pool_slots=0)
    pool = pool_of(change.snapshot, name) or ""
    rows = TaskRun.objects.bulk_create(
        [
            TaskRun(
                run_id=change.run.pk,
                task_name=instance_name(name, index),
                map_index=index,
                status=TaskState.PENDING,
                max_attempts=attempts_allowed(task),
                pool=pool,
                pool_slots=task.get("pool_slots", 1),
                revision=change.run.revision,
            )
            for index in range(count)
        ],
        batch_size=500,
    )
    change.created([(row.task_name, row.pk) for row in rows])
    for row in rows:
        change.queue_pending(row.task_name)  # written and sent with the change: one batch
    return False


def _item_count(run_id, upstream):
    """Return (number of items, None) of ``upstream``'s output, or (None, the reason it cannot be mapped over)."""
    output, path, serializer, signature = (
        TaskRun.objects.filter(run_id=run_id, task_name=upstream)
        .values_list("output", "artifact__path", "artifact__serializer", "artifact__signature")
        .get()
    )
    if path:
        output = files.load(path, serializer, signature, label=f"the output of task {upstream!r}")
        if _is_sequence(output):
            return len(output), None
    elif isinstance(output, list):
        return len(output), None
    return (
        None,
        f"cannot map over the output of {upstream!r}: a list was expected, not {type(output).__name__}",
    )


def _is_sequence(value):
    """A list, a tuple or an array-like (NumPy's): something with a length whose items are taken by index."""
    if isinstance(value, (str, bytes, dict)):
        return False
    try:
        len(value)
        value[0:0]
    except Exception:  # noqa: BLE001 - anything that cannot be sliced is not mapped over
        return False
    return getattr(value, "ndim", 1) >= 1


def item(upstream_output, index):
    """The item instance ``index`` receives from the output it maps over."""
    return upstream_output[index]


def _drop_instances(change, name):
    """Delete the instances of an earlier round of ``name`` (with their logs), counters included."""
    found = list(_instances(change.run.pk, name).values_list("task_name", "status"))
    if not found:
        return
    for status, number in _tally(status for _, status in found).items():
        change.uncount(status, number)
    _instances(change.run.pk, name).delete()
    change.forget([task_name for task_name, _ in found])


def _tally(statuses):
    counts = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def instance_finished(change, parent):
    """An instance of ``parent`` finished: return True if that settled ``parent`` (its outcome is set)."""
    if change.status(parent) != TaskState.RUNNING:
        return False
    counts = dict(_instances(change.run.pk, parent).values_list("status").annotate(n=Count("id")).order_by())
    if any(status not in TASK_FINISHED for status in counts):
        # Its row on the run page sums its instances up: the live view sends it again.
        TaskRun.objects.filter(pk=change.row(parent)["pk"]).update(revision=change.run.revision)
        return False
    total = sum(counts.values())
    if counts.get(TaskState.SUCCEEDED, 0) == total:
        outputs = list(
            _instances(change.run.pk, parent).order_by("map_index").values_list("output", flat=True)
        )
        change.move(
            parent, TaskState.SUCCEEDED, expect=TaskState.RUNNING, finished_at=change.now, output=outputs
        )
        return True
    outcome = next(status for status in OUTCOME_ORDER if status in counts)
    summary = ", ".join(f"{number} {status}" for status, number in sorted(counts.items()))
    change.move(
        parent,
        outcome,
        expect=TaskState.RUNNING,
        finished_at=change.now,
        error=f"{total} instances: {summary}",
    )
    return True


def rerunnable_instances(change, names):
    """The failed, upstream-failed or cancelled instances of the mapped tasks among ``names`` (one query, if any)."""
    mapped = [name for name in names if change.snapshot.tasks[name].get("map_over")]
    if not mapped:
        return []
    found = TaskRun.objects.filter(
        run_id=change.run.pk, map_index__isnull=False, status__in=list(TASK_RERUNNABLE)
    ).values_list("task_name", flat=True)
    return [name for name in found if parent_of(name) in mapped]


def active_instances(change):
    """The names of the run's instances that are queued, running or retrying (no query without mapped tasks)."""
    if not has_mapped_tasks(change.snapshot):
        return []
    return list(
        TaskRun.objects.filter(
            run_id=change.run.pk, map_index__isnull=False, status__in=list(TASK_ACTIVE)
        ).values_list("task_name", flat=True)
    )
