"""The predecessor's ML example flows (scikit-learn, XGBoost), ported unchanged but for MLResult, run here.

Their task functions are in tests/predecessor_ml/; what they stored in
MLResult rows is now metrics and tags of their task run. The grid search fits
18 parameter sets with 3-fold cross-validation.
"""

import json

import pytest
import xgboost
from django.urls import reverse

from flowforge_admin.api import run_flow
from flowforge_admin.models import Metric, Tag
from flowforge_admin.states import RunState

from ..predecessor_ml import flows

pytestmark = [
    pytest.mark.django_db,
    # The predecessor passes XGBoost a parameter it no longer reads, once per fit.
    pytest.mark.filterwarnings("ignore:.*use_label_encoder.*:UserWarning"),
]

ALGORITHMS = ["RandomForestClassifier", "XGBClassifier"]


def metrics_of(run):
    return dict(Metric.objects.filter(run=run).values_list("name", "value"))


def tags_of(run):
    return dict(Tag.objects.filter(run=run).values_list("key", "value"))


def assert_succeeded(run):
    assert run.status == RunState.SUCCEEDED, list(run.task_runs.values_list("task_name", "error"))


def assert_run_page_shows(admin_client, run):
    response = admin_client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]))
    assert response.status_code == 200


def test_simple_ml_records_the_xgboost_metrics(admin_client):
    """pipeline_simple_ml (clean_data after fetch_data1, which it defines) trains XGBoost; its scores are metrics."""
    run = run_flow(flows.register_simple_ml())

    assert_succeeded(run)
    assert list(run.task_runs.order_by("pk").values_list("task_name", flat=True)) == [
        "fetch_data1",
        "clean_data",
        "analyze_data",
        "train_model",
    ]
    metrics = metrics_of(run)
    assert set(metrics) == {"accuracy", "precision", "recall", "f1_score"}
    assert all(0.5 < value <= 1 for value in metrics.values()), metrics
    assert set(Metric.objects.filter(run=run).values_list("task_run__task_name", flat=True)) == {
        "train_model"
    }
    tags = tags_of(run)
    assert tags["algorithm"] == "xgboost"
    assert tags["experiment"] == "Experiment with synthetic data."
    assert "'objective': 'binary:logistic'" in tags["parameters"]
    matrix = json.loads(tags["confusion_matrix"])  # str() of [[a, b], [c, d]]: the test set's 200 rows
    assert sum(map(sum, matrix)) == 200
    assert_run_page_shows(admin_client, run)


def test_grid_search_records_each_models_scores(admin_client):
    """pipeline_ml_with_grid_search searches two models' grids; each model's best scores are metrics."""
    # One XGBoost thread: on a busy two-core machine its threads, one per core, fight each other and
    # the fits take ten times as long. The flow itself is unchanged (the setting is XGBoost's global one).
    with xgboost.config_context(nthread=1):
        run = run_flow(flows.register_ml_grid_search())

    assert_succeeded(run)
    metrics = metrics_of(run)
    assert set(metrics) == {
        f"{algorithm}.{name}" for algorithm in ALGORITHMS for name in ["best_cv_score", "test_accuracy"]
    }
    assert all(0.5 < value <= 1 for value in metrics.values()), metrics
    tags = tags_of(run)
    assert tags["algorithm"] == "RandomForestClassifier, XGBClassifier"
    assert tags["experiment"] == "Simple grid Search and store best params."
    assert "'n_estimators'" in tags["RandomForestClassifier.parameters"]
    assert "'learning_rate'" in tags["XGBClassifier.parameters"]
    lines = run.task_runs.get(task_name="grid_search_multiple_models").logs.values_list("message", flat=True)
    assert any("Test accuracy of the best XGBClassifier" in line for line in lines)
    assert_run_page_shows(admin_client, run)
