"""Runs whose task runs have outputs of every kind, made as rows (no worker), for the admin's tests.

The previews have the shapes of the data contract (models/artifacts.py): the
admin only reads them; the files hold bytes the admin streams untouched.
"""

from django.core.files.base import ContentFile

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.artifacts.storage import get_storage
from flowforge_admin.models import Artifact, TaskRun

from . import engine_tasks as t

ARRAY = {
    "kind": "array",
    "shape": [1000, 3],
    "dtype": "float64",
    "head": [0.5, 1.25, 2.0, "nan", "inf", *range(15)],
}
DATAFRAME = {
    "kind": "dataframe",
    "shape": [500, 3],
    "columns": ["city", "count", "ratio"],
    "dtypes": {"city": "object", "count": "int64", "ratio": "float64"},
    "rows": [["Paris", "3", "0.5"], ["Lyon", "7", "0.25"], ["<b>Nice</b>", "1", "1.0"]],
}
REPR = {"kind": "repr", "text": "LinearModel(weights=[0.5, 1.5], bias=0.1) <script>x</script>"}
SEQUENCE = {
    "kind": "sequence",
    "type": "tuple",
    "length": 2,
    "items": [{"kind": "array", "shape": [2], "dtype": "int64", "head": [7, 8]}, REPR],
}
JSON_OUTPUT = {"model": {"name": "linear", "scores": [0.9, 0.8]}, "rows": 3}

# task name: (type_name, preview, size in bytes, file name's extension)
ARTIFACTS = {
    "make_array": ("numpy.ndarray", ARRAY, 8_000_000, ".npy"),
    "make_frame": ("pandas.DataFrame", DATAFRAME, 12_345, ".parquet"),
    "make_pair": ("tuple", SEQUENCE, 300, ".pickle"),
    "make_model": ("LinearModel", REPR, 2_048, ".pickle"),
}
FILE_BYTES = b"\x93NUMPY not really, but bytes the admin streams untouched"


def outputs_flow(name="outputs"):
    """A flow whose tasks each return one kind of output (rows made by with_outputs)."""
    names = ["make_json", *ARTIFACTS]
    return register_task_pipeline(name, {task: {"function": t.echo} for task in names})


def add_artifact(task_run, type_name, preview, size, extension=".pickle", content=FILE_BYTES):
    """Store ``content`` in the artifact storage and make ``task_run``'s Artifact row (output None)."""
    path = get_storage().save(f"runs/{task_run.run_id}/{task_run.task_name}{extension}", ContentFile(content))
    TaskRun.objects.filter(pk=task_run.pk).update(output=None)
    return Artifact.objects.create(
        task_run=task_run,
        attempt=max(task_run.attempt, 1),
        path=path,
        serializer=extension.lstrip("."),
        type_name=type_name,
        size=size,
        signature="0" * 64,
        preview=preview,
    )


def with_outputs(flow):
    """Launch ``flow`` and give its task runs their outputs: JSON for make_json, artifacts for the rest."""
    run = launch_flow(flow)
    run.task_runs.update(status="succeeded", attempt=1)
    run.task_runs.filter(task_name="make_json").update(output=JSON_OUTPUT)
    for task_run in run.task_runs.filter(task_name__in=list(ARTIFACTS)):
        type_name, preview, size, extension = ARTIFACTS[task_run.task_name]
        add_artifact(task_run, type_name, preview, size, extension)
    return run
