"""The outputs a task receives from the tasks it waited for (``context.upstream`` and named parameters).

One query reads them all; an artifact among them is loaded from the store
(signature checked first) only when the task looks it up, and only once.
A group without a function has no output of its own: looking it up gives
``{child: output}`` of its tasks, their artifacts loaded the same way. A
mapped task gives the list of its instances' outputs in map index order, read
from the instances themselves (one more query): the list stored as the
mapped task's own output holds JSON only, ``None`` for an artifact.
"""

from collections.abc import Mapping

from django.db.models import Q

from ..artifacts import files
from ..models import TaskRun
from .snapshot import instance_of

OUTPUT_FIELDS = ("output", "artifact__path", "artifact__serializer", "artifact__signature")


def read_upstream(run_id, names, snapshot):
    """Return the UpstreamOutputs of ``names`` in the run (one query, and one for mapped tasks' instances)."""
    groups, needed, pending = {}, [], list(names)
    while pending:
        name = pending.pop()
        needed.append(name)
        if snapshot.is_group(name) and not snapshot.function(name):
            groups[name] = list(snapshot.children[name])
            pending.extend(groups[name])
    rows = {
        name: _output(*fields)
        for name, *fields in TaskRun.objects.filter(run_id=run_id, task_name__in=needed).values_list(
            "task_name", *OUTPUT_FIELDS
        )
    }
    mapped = [name for name in needed if snapshot.tasks[name].get("map_over")]
    instances = _instance_outputs(run_id, mapped) if mapped else {}
    return UpstreamOutputs(list(names), rows, groups, instances)


def _output(output, path, serializer, signature):
    return output, (path, serializer, signature) if path else None


def _instance_outputs(run_id, mapped):
    """Return {mapped task: [(output, artifact) of each instance, in map index order]} (one query)."""
    found = {name: [] for name in mapped}
    starts = Q()
    for name in mapped:
        starts |= Q(task_name__startswith=f"{name}[")
    instances = (
        TaskRun.objects.filter(starts, run_id=run_id, map_index__isnull=False)
        .order_by("map_index")
        .values_list("task_name", *OUTPUT_FIELDS)
    )
    for task_name, *fields in instances:
        found[instance_of(task_name)[0]].append(_output(*fields))
    return found


class UpstreamOutputs(Mapping):
    """``{task name: output}`` of the tasks a task waited for, loading artifacts on first access."""

    def __init__(self, names, rows, groups, instances=None):
        self._names = names
        self._rows = rows  # {name: (JSON output, (path, serializer, signature) or None)}
        self._groups = groups  # {group without a function: its children}
        self._instances = instances or {}  # {mapped task: [(output, artifact) of each instance]}
        self._loaded = {}

    def __getitem__(self, name):
        if name not in self._loaded:
            if name not in self._rows and name not in self._groups:
                raise KeyError(name)
            self._loaded[name] = self._value(name)
        return self._loaded[name]

    def _value(self, name):
        if name in self._groups:
            return {child: self[child] for child in self._groups[name]}
        gathered, instances = self._rows[name][0], self._instances.get(name)
        # The instances' outputs, when the list stored is theirs (not a mapped task marked by hand).
        if instances is not None and isinstance(gathered, list) and len(gathered) == len(instances):
            return [self._load(f"{name}[{index}]", *instance) for index, instance in enumerate(instances)]
        return self._load(name, *self._rows[name])

    @staticmethod
    def _load(name, output, artifact):
        if artifact is None:
            return output
        path, serializer, signature = artifact
        return files.load(path, serializer, signature, label=f"the output of task {name!r}")

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __repr__(self):
        return f"UpstreamOutputs({self._names!r})"
