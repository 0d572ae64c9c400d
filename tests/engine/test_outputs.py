"""Outputs that are not JSON: stored as signed artifacts, passed on as Python objects, removed with their run."""

import pickle

import pytest

from flowforge_admin.api import cancel_run, clear_tasks, launch_flow, register_task_pipeline, run_flow
from flowforge_admin.artifacts import files
from flowforge_admin.artifacts.storage import get_storage
from flowforge_admin.definitions.pipeline import FlowDefinitionError
from flowforge_admin.engine.local import run_in_process
from flowforge_admin.engine.worker import record_success
from flowforge_admin.models import Artifact, FlowRun, Metric, Tag
from flowforge_admin.states import RunState, TaskState

from .. import data_tasks as d
from ..conftest import require_service

pytestmark = pytest.mark.django_db

PRODUCERS = ["array", "frame", "arrays", "model", "not_a_number", "int64"]


@pytest.fixture
def ml_flow(db):
    require_service("pandas", d.pd is not None, "install pandas and pyarrow (requirements-dev.txt)")
    pipeline = {name: {"function": getattr(d, name)} for name in PRODUCERS}
    pipeline["by_context"] = {"function": d.check_context, "depends_on": PRODUCERS}
    pipeline["by_name"] = {"function": d.check_named, "depends_on": PRODUCERS}
    return register_task_pipeline("ml_values", pipeline)


def clear_here(run, names):
    """Clear ``names`` of ``run`` and run them again in this process; return the run, fresh."""

    def clear():
        clear_tasks(run, names)
        return run

    return run_in_process(clear)


def task_run(run, name):
    return run.task_runs.select_related("artifact").get(task_name=name)


def test_values_that_are_not_json_reach_downstream_tasks_equal(ml_flow):
    run = run_flow(ml_flow)
    assert run.status == RunState.SUCCEEDED, list(run.task_runs.values_list("task_name", "error"))
    everything_equal = dict.fromkeys(PRODUCERS, True)
    assert task_run(run, "by_context").output == everything_equal
    assert task_run(run, "by_name").output == everything_equal


def test_each_artifact_records_its_format_type_size_and_preview(ml_flow):
    run = run_flow(ml_flow)
    artifacts = {
        a.task_run.task_name: a for a in Artifact.objects.filter(task_run__run=run).select_related("task_run")
    }
    assert set(artifacts) == set(PRODUCERS)
    assert {name: a.serializer for name, a in artifacts.items()} == {
        "array": "npy",
        "frame": "parquet",
        "arrays": "pickle",
        "model": "pickle",
        "not_a_number": "pickle",
        "int64": "pickle",
    }
    array = artifacts["array"]
    assert array.type_name == "numpy.ndarray"
    assert array.preview == {
        "kind": "array",
        "shape": [3, 4],
        "dtype": "float64",
        "head": [
            0.0,
            0.142857,
            0.285714,
            0.428571,
            0.571429,
            0.714286,
            0.857143,
            1.0,
            1.14286,
            1.28571,
            1.42857,
            1.57143,
        ],
    }
    assert array.size == get_storage().size(array.path) > 12 * 8
    frame = artifacts["frame"].preview
    assert frame["kind"] == "dataframe"
    assert frame["shape"] == [3, 3]
    assert frame["dtypes"]["day"] == "int64"
    assert frame["rows"][2][1] == "nan"
    arrays = artifacts["arrays"].preview
    assert arrays["kind"] == "sequence"
    assert arrays["type"] == "tuple"
    assert [item["shape"] for item in arrays["items"]] == [[2, 2], [5]]
    assert artifacts["model"].preview == {
        "kind": "repr",
        "type": "tests.data_tasks.Model",
        "text": "Model(name='linear', weights=array([ 0.5 , -1.25]))",
    }
    assert artifacts["not_a_number"].preview["text"] == "nan"
    assert task_run(run, "array").output is None


def test_a_json_value_is_still_json():
    flow = register_task_pipeline("json_values", {"rows": {"function": d.check_context}})
    run = run_flow(flow)
    assert task_run(run, "rows").output == {}
    assert not Artifact.objects.exists()


def test_a_tampered_artifact_fails_its_consumer_without_being_unpickled(tmp_path):
    flow = register_task_pipeline(
        "tampered",
        {"make": {"function": d.make_tripwire}, "use": {"function": d.use_upstream, "depends_on": ["make"]}},
    )
    legit, planted = tmp_path / "legit", tmp_path / "planted"
    run = run_flow(flow, {"marker": str(legit)})
    assert task_run(run, "use").output == {"make": "str"}  # the genuine pickle ran its reduce
    artifact = task_run(run, "make").artifact
    storage = get_storage()
    with storage.open(artifact.path, "wb") as file:
        file.write(pickle.dumps(d.Tripwire(str(planted))))

    use = task_run(clear_here(run, ["use"]), "use")
    assert use.status == TaskState.FAILED
    assert "output of task 'make'" in use.error
    assert artifact.path in use.error
    assert "does not match its signature" in use.error
    assert not planted.exists()


def test_a_missing_artifact_fails_its_consumer_naming_it():
    flow = register_task_pipeline(
        "missing",
        {"make": {"function": d.model}, "use": {"function": d.use_upstream, "depends_on": ["make"]}},
    )
    run = run_flow(flow)
    artifact = task_run(run, "make").artifact
    get_storage().delete(artifact.path)
    use = task_run(clear_here(run, ["use"]), "use")
    assert use.status == TaskState.FAILED
    assert (
        f"the output of task 'make' (artifact {artifact.path}) is missing from the artifact store"
        in use.error
    )


def test_deleting_runs_removes_their_artifact_files(ml_flow, django_capture_on_commit_callbacks):
    first, second = run_flow(ml_flow), run_flow(ml_flow)
    paths = list(Artifact.objects.values_list("path", flat=True))
    storage = get_storage()
    assert len(paths) == 2 * len(PRODUCERS)
    assert all(storage.exists(path) for path in paths)
    with django_capture_on_commit_callbacks(execute=True):
        FlowRun.objects.filter(pk__in=[first.pk, second.pk]).delete()  # a bulk delete, as the admin's action
    assert not Artifact.objects.exists()
    assert not any(storage.exists(path) for path in paths)


def test_a_task_run_again_keeps_its_earlier_artifact_with_its_attempt(
    ml_flow, django_capture_on_commit_callbacks
):
    """A clear no longer removes the earlier artifact: it moves, file and all, to attempt 1's record.

    The task run's ``artifact`` is the new attempt's; deleting the run
    removes both files.
    """
    run = run_flow(ml_flow)
    old = task_run(run, "model").artifact
    with django_capture_on_commit_callbacks(execute=True):
        run = clear_here(run, ["model"])
    model = task_run(run, "model")
    new = model.artifact
    assert (new.pk, new.attempt) != (old.pk, old.attempt)
    assert new.attempt == 2
    assert new.path != old.path
    earlier = model.attempts.select_related("artifact").get(attempt=1)
    assert earlier.status == TaskState.SUCCEEDED
    assert (earlier.artifact.pk, earlier.artifact.path, earlier.artifact.task_run_id) == (
        old.pk,
        old.path,
        None,
    )
    assert get_storage().exists(old.path)
    assert get_storage().exists(new.path)
    assert Artifact.objects.filter(task_run__run=run).count() == len(PRODUCERS)  # the current ones
    with django_capture_on_commit_callbacks(execute=True):
        run.delete()
    assert not Artifact.objects.exists()
    assert not get_storage().exists(old.path)
    assert not get_storage().exists(new.path)


def test_metrics_and_tags_are_recorded_against_the_task_run():
    flow = register_task_pipeline("measured", {"train": {"function": d.measure}})
    run = run_flow(flow)
    metrics = list(Metric.objects.filter(run=run).values_list("name", "value", "step"))
    assert sorted(metrics, key=str) == sorted(
        [
            ("loss", 0.9, 0),
            ("loss", 0.5, 1),
            ("loss", 0.25, 2),
            ("accuracy", 0.875, None),
            ("diverged", None, None),
        ],
        key=str,
    )
    assert dict(Tag.objects.filter(run=run).values_list("key", "value")) == {
        "algorithm": "ridge",
        "features": "12",
    }


def test_a_parameter_named_after_an_upstream_task_is_refused_at_registration():
    with pytest.raises(FlowDefinitionError, match="both a parameter and an upstream task"):
        register_task_pipeline(
            "ambiguous",
            {"data": {"function": d.array}, "train": {"function": d.use_upstream, "depends_on": ["data"]}},
            params={"data": "s3://bucket/data.csv"},
        )


def test_the_artifact_of_a_discarded_result_is_removed(django_capture_on_commit_callbacks):
    """A result that comes after its run was cancelled is not recorded, and its file does not stay behind."""
    flow = register_task_pipeline("discarded", {"make": {"function": d.model}})
    run = launch_flow(flow)  # no worker runs it: its message waits on commit, never sent here
    task_run = run.task_runs.get()
    cancel_run(run)
    stored = files.store(d.model(), run_id=run.pk, task_run_id=task_run.pk, attempt=1)
    assert get_storage().exists(stored.path)
    with django_capture_on_commit_callbacks(execute=True):
        record_success(run.pk, "make", 1, None, stored)
    assert not Artifact.objects.exists()
    assert not get_storage().exists(stored.path)
