"""The outputs a task receives from the tasks it waited for (``context.upstream`` and named parameters).

One query reads them all; an artifact among them is loaded from the store
(signature checked first) only when the task looks it up, and only once.
A group without a function has no output of its own: looking it up gives
``{child: output}`` of its tasks, their artifacts loaded the same way.
"""

from collections.abc import Mapping

from ..artifacts import files
from ..models import TaskRun


def read_upstream(run_id, names, snapshot):
    """Return the UpstreamOutputs of ``names`` in the run (one query)."""
    groups, needed, pending = {}, [], list(names)
    while pending:
        name = pending.pop()
        needed.append(name)
        if snapshot.is_group(name) and not snapshot.function(name):
            groups[name] = list(snapshot.children[name])
            pending.extend(groups[name])
    rows = {
        name: (output, (path, serializer, signature) if path else None)
        for name, output, path, serializer, signature in TaskRun.objects.filter(
            run_id=run_id, task_name__in=needed
        ).values_list("task_name", "output", "artifact__path", "artifact__serializer", "artifact__signature")
    }
    return UpstreamOutputs(list(names), rows, groups)


class UpstreamOutputs(Mapping):
    """``{task name: output}`` of the tasks a task waited for, loading artifacts on first access."""

    def __init__(self, names, rows, groups):
        self._names = names
        self._rows = rows  # {name: (JSON output, (path, serializer, signature) or None)}
        self._groups = groups  # {group without a function: its children}
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
        output, artifact = self._rows[name]
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
