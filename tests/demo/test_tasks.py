"""flowforge_admin/demo/tasks.py: the demo task functions, called in pipeline order.

A task reads its upstream outputs from ``context.upstream``; a SimpleNamespace
stands in for the engine's context, or (for the ML flow, which records metrics
and tags) the engine's TaskContext with a recorder of its own.
"""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from flowforge_admin.demo import tasks
from flowforge_admin.engine.context import TaskContext


def context(**upstream):
    return SimpleNamespace(upstream=upstream)


def run_simple_pipeline(n_rows=5, **post_process_params):
    sales = tasks.fetch_data1(n_rows=n_rows)
    visitors = tasks.fetch_data2(n_rows=n_rows)
    cleaned = tasks.clean_data(context(fetch_data1=sales, fetch_data2=visitors))
    analysis = tasks.analyse_data(context(clean_data=cleaned))
    report = tasks.post_process(context(analyse_data=analysis), **post_process_params)
    return {
        "fetch_data1": sales,
        "fetch_data2": visitors,
        "clean_data": cleaned,
        "analyse_data": analysis,
        "post_process": report,
    }


class Recorder:
    """Stands in for the worker's log capture: keeps what the task records."""

    def __init__(self):
        self.metrics, self.tags = [], {}

    def add_metric(self, name, value, step):
        self.metrics.append((name, value, step))

    def set_tag(self, key, value):
        self.tags[key] = value


def task_context(name, recorder=None, **upstream):
    """The engine's TaskContext of task ``name``, recording into ``recorder``."""
    return TaskContext(
        run_id=1, flow_name="demo", task_name=name, attempt=1, upstream=upstream, recorder=recorder
    )


def run_ml_pipeline(recorders=None, **generate_params):
    recorders = {} if recorders is None else recorders
    for name in ["fit_linear_model", "evaluate_model"]:
        recorders.setdefault(name, Recorder())
    data = tasks.generate_data(**generate_params)
    split = tasks.split_data(task_context("split_data", generate_data=data))
    model = tasks.fit_linear_model(
        task_context("fit_linear_model", recorders["fit_linear_model"], split_data=split)
    )
    trained = tasks.train_model(split_data=split, fit_linear_model=model)
    evaluation = tasks.evaluate_model(trained, task_context("evaluate_model", recorders["evaluate_model"]))
    return {
        "generate_data": data,
        "split_data": split,
        "fit_linear_model": model,
        "train_model": trained,
        "evaluate_model": evaluation,
    }


class TestSimplePipeline:
    def test_report_summarises_the_days(self):
        """The report's summary gives the number of days analysed and its title."""
        report = run_simple_pipeline(n_rows=7)["post_process"]

        assert report["title"] == "Daily report"
        assert report["summary"].startswith("7 days, mean conversion ")

    def test_report_title_is_a_parameter(self):
        """post_process takes the report title as a parameter."""
        report = run_simple_pipeline(report_title="Weekly")["post_process"]

        assert report["title"] == "Weekly"

    def test_clean_data_joins_by_day(self):
        """clean_data keeps only days present in both datasets, in day order."""
        cleaned = tasks.clean_data(
            context(fetch_data1=tasks.fetch_data1(n_rows=3), fetch_data2=tasks.fetch_data2(n_rows=5))
        )

        assert [row["day"] for row in cleaned] == [0, 1, 2]
        assert cleaned[0] == {"day": 0, "sales": 100, "visitors": 1000}

    def test_analysis_is_the_mean_conversion(self):
        """analyse_data gives the mean of sales / visitors over the days."""
        outputs = run_simple_pipeline(n_rows=2)

        expected = (100 / 1000 + 107 / 1013) / 2
        assert outputs["analyse_data"] == {"days": 2, "mean_conversion": pytest.approx(expected, abs=1e-6)}

    def test_missing_upstream_gives_an_empty_report(self):
        """Without upstream outputs (no context) the tasks still return, with zero days."""
        assert tasks.clean_data() == []
        assert tasks.analyse_data() == {"days": 0, "mean_conversion": 0.0}
        assert tasks.post_process()["summary"].startswith("0 days")

    def test_outputs_are_json(self):
        """Every output can be stored as JSON, as the engine requires."""
        outputs = run_simple_pipeline()

        assert json.loads(json.dumps(outputs)) == outputs


class TestMlPipeline:
    def test_data_are_arrays(self):
        """generate_data returns the features (n_points x 3) and the targets as NumPy arrays."""
        X, y = tasks.generate_data(n_points=50)

        assert isinstance(X, np.ndarray)
        assert X.shape == (50, 3)
        assert y.shape == (50,)

    def test_recovers_the_weights(self):
        """The trained model finds the weights (2, 0.5, -1) and the bias 1 of the generated data."""
        model = run_ml_pipeline()["fit_linear_model"]

        assert isinstance(model, tasks.LinearModel)
        np.testing.assert_allclose(model.weights, [2.0, 0.5, -1.0], atol=0.15)
        assert model.bias == pytest.approx(1.0, abs=0.15)
        assert repr(model).startswith("LinearModel(weights=[")

    def test_training_logs_a_falling_loss_per_epoch(self):
        """fit_linear_model logs metric loss at steps 0..49, ending near the noise's variance."""
        recorders = {}
        run_ml_pipeline(recorders)
        metrics = recorders["fit_linear_model"].metrics

        assert [(name, step) for name, _, step in metrics] == [("loss", epoch) for epoch in range(50)]
        losses = [value for _, value, _ in metrics]
        assert losses[0] > 4 * losses[-1]
        assert losses[-1] == pytest.approx(0.25, rel=0.3)  # noise 0.5

    def test_evaluation_passes_and_is_recorded(self):
        """The test RMSE is below 1 (the noise is 0.5): evaluation passes, logs its metrics and tags."""
        recorders = {}
        evaluation = run_ml_pipeline(recorders)["evaluate_model"]

        assert 0 < evaluation["rmse"] < 1
        assert 0.8 < evaluation["r2"] <= 1
        assert 0 < evaluation["mae"] < evaluation["rmse"]
        assert evaluation["passed"] is True
        assert json.loads(json.dumps(evaluation)) == evaluation
        logged = {name: value for name, value, _ in recorders["evaluate_model"].metrics}
        assert logged == pytest.approx({name: evaluation[name] for name in ["rmse", "r2", "mae"]}, abs=1e-6)
        assert recorders["evaluate_model"].tags == {
            "algorithm": "ridge regression (gradient descent)",
            "n_features": "3",
        }

    def test_evaluation_fails_above_the_limit(self):
        """evaluate_model fails the model when the RMSE is above max_rmse."""
        trained = run_ml_pipeline()["train_model"]

        assert tasks.evaluate_model(trained, task_context("evaluate_model"), max_rmse=0.01)["passed"] is False

    def test_split_keeps_every_row(self):
        """split_data divides the rows 3:1 between training and test sets without losing any."""
        outputs = run_ml_pipeline(n_points=200)
        X_train, X_test, y_train, y_test = outputs["split_data"]
        X, y = outputs["generate_data"]

        assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (150, 50, 150, 50)
        assert sorted(np.concatenate([y_train, y_test])) == sorted(y)
        assert sorted(map(tuple, np.concatenate([X_train, X_test]))) == sorted(map(tuple, X))

    def test_group_gathers_its_children(self):
        """train_model returns the fitted model and the test set of split_data."""
        outputs = run_ml_pipeline()
        model, X_test, y_test = outputs["train_model"]

        assert model is outputs["fit_linear_model"]
        assert X_test is outputs["split_data"][1]
        assert y_test is outputs["split_data"][3]

    def test_same_seed_same_data(self):
        """generate_data is deterministic for a seed, so reruns are reproducible."""
        first, again, other = (tasks.generate_data(seed=seed)[1] for seed in (3, 3, 4))
        assert np.array_equal(first, again)
        assert not np.array_equal(first, other)


class TestPipelineWithFailure:
    def test_flaky_step_fails_on_purpose(self):
        """flaky_step raises RuntimeError when fail is on (the default)."""
        batch = tasks.prepare_batch()

        with pytest.raises(RuntimeError, match="fails on purpose"):
            tasks.flaky_step(context(prepare_batch=batch))
        with pytest.raises(RuntimeError):
            tasks.flaky_step(context(prepare_batch=batch), fail=True)

    def test_flaky_step_succeeds_without_fail(self):
        """With fail=False flaky_step processes the batch and send_report reports it."""
        batch = tasks.prepare_batch(batch_size=4)

        processed = tasks.flaky_step(context(prepare_batch=batch), fail=False)
        sent = tasks.send_report(context(flaky_step=processed))

        assert processed == {"processed": 4}
        assert sent == {"sent": True, "result": {"processed": 4}}
