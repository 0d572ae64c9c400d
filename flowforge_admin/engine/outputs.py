"""A task's output: JSON in its TaskRun, or an artifact (any other value) in the store.

The worker stores the artifact's file before it records the attempt (outside
the run's lock: writing 100 MB must not hold up the run's other tasks), and
writes the Artifact row in the same transaction as the success. Should the
result be discarded (cancelled, taken over), the file goes again. An output
replaced by a new attempt (re-run, retry, clear, mark) is kept, artifact
included, with the attempt that made it (:mod:`.attempts`); its file goes
when its run is deleted (artifacts.receivers).
"""

import json
from collections.abc import Mapping

from django.db import transaction

from ..artifacts import files
from ..models import Artifact


def prepare(value, *, run_id, task_run_id, attempt):
    """Return ``(JSON output, None)`` for a JSON value, else ``(None, StoredValue)`` once it is stored.

    A value is JSON when it survives ``json.dumps`` without NaN or infinities
    (tuples become lists, as they always have); anything else (a NumPy array
    or scalar, a DataFrame, a model, NaN) is an artifact.
    """
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=_mapping_as_dict)), None
    except (TypeError, ValueError, RecursionError):
        pass
    return None, files.store(value, run_id=run_id, task_run_id=task_run_id, attempt=attempt)


def _mapping_as_dict(value):
    """JSON of a mapping that is not a dict: ``context.upstream`` returned as it is, say."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def attach(task_run_id, attempt, stored):
    """Record ``stored`` as the output of the task run (in the success's transaction)."""
    Artifact.objects.create(
        task_run_id=task_run_id,
        attempt=attempt,
        path=stored.path,
        serializer=stored.serializer,
        type_name=stored.type_name,
        size=stored.size,
        signature=stored.signature,
        preview=stored.preview,
    )


def forget(stored):
    """Remove the file of an output that was not recorded (once the transaction is over)."""
    transaction.on_commit(lambda: files.remove([stored.path]))
