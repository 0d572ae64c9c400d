"""The demo ML flow run by the engine: its arrays and model become artifacts, its metrics and tags are recorded."""

import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from flowforge_admin.api import run_flow
from flowforge_admin.models import Artifact, Metric, Tag
from flowforge_admin.states import RunState

pytestmark = pytest.mark.django_db

FLOW = "demo_pipeline_simple_ml"


@pytest.fixture
def ml_run(monkeypatch):
    """A finished run of the demo ML flow, registered by ``sync_flows``, run in this process."""
    monkeypatch.delitem(sys.modules, "flowforge_admin.demo.flows", raising=False)
    call_command("sync_flows", stdout=StringIO())
    return run_flow(FLOW, {"n_points": 400})


def artifacts(run):
    return {
        artifact.task_run.task_name: artifact
        for artifact in Artifact.objects.filter(task_run__run=run).select_related("task_run")
    }


def test_the_flow_succeeds(ml_run):
    assert ml_run.status == RunState.SUCCEEDED, list(ml_run.task_runs.values_list("task_name", "error"))
    evaluation = ml_run.task_runs.get(task_name="evaluate_model").output
    assert 0 < evaluation["rmse"] < 1
    assert evaluation["passed"] is True


def test_arrays_and_the_model_are_artifacts(ml_run):
    """Every task but evaluate_model returns NumPy arrays or the model: each is an artifact, not JSON."""
    stored = artifacts(ml_run)
    assert set(stored) == {"generate_data", "split_data", "fit_linear_model", "train_model"}
    assert not ml_run.task_runs.filter(task_name__in=stored, output__isnull=False).exists()

    model = stored["fit_linear_model"]
    assert (model.serializer, model.type_name) == ("pickle", "flowforge_admin.demo.tasks.LinearModel")
    assert model.preview["kind"] == "repr"
    assert model.preview["text"].startswith("LinearModel(weights=[")

    data = stored["generate_data"].preview
    assert (data["kind"], data["type"], data["length"]) == ("sequence", "tuple", 2)
    assert [item["shape"] for item in data["items"]] == [[400, 3], [400]]
    split = stored["split_data"].preview
    assert [item["shape"] for item in split["items"]] == [[300, 3], [100, 3], [300], [100]]
    trained = stored["train_model"].preview
    assert [item["kind"] for item in trained["items"]] == ["repr", "array", "array"]


def test_loss_per_epoch_and_test_metrics_are_recorded(ml_run):
    losses = list(
        Metric.objects.filter(run=ml_run, name="loss")
        .order_by("step")
        .values_list("step", "value", "task_run__task_name")
    )
    assert [step for step, _, _ in losses] == list(range(50))
    assert {task for _, _, task in losses} == {"fit_linear_model"}
    assert losses[0][1] > 4 * losses[-1][1]

    evaluated = dict(
        Metric.objects.filter(run=ml_run, task_run__task_name="evaluate_model").values_list("name", "value")
    )
    assert set(evaluated) == {"rmse", "r2", "mae"}
    assert 0 < evaluated["mae"] < evaluated["rmse"] < 1
    assert 0.8 < evaluated["r2"] <= 1
    assert dict(Tag.objects.filter(run=ml_run).values_list("key", "value")) == {
        "algorithm": "ridge regression (gradient descent)",
        "n_features": "3",
    }


def test_the_run_page_shows_the_run(ml_run, admin_client):
    response = admin_client.get(reverse("admin:flowforge_admin_flowrun_change", args=[ml_run.pk]))
    assert response.status_code == 200
    assert "fit_linear_model" in response.text
