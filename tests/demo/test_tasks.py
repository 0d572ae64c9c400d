"""flowforge_admin/demo/tasks.py: the demo task functions, called in pipeline order.

A task reads its upstream outputs from ``context.upstream``; a SimpleNamespace
stands in for the engine's context.
"""

import json
from types import SimpleNamespace

import pytest

from flowforge_admin.demo import tasks


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


def run_ml_pipeline(**generate_params):
    points = tasks.generate_data(**generate_params)
    split = tasks.split_data(context(generate_data=points))
    model = tasks.fit_linear_model(context(split_data=split))
    trained = tasks.train_model(context(split_data=split, fit_linear_model=model))
    evaluation = tasks.evaluate_model(context(train_model=trained))
    return {
        "generate_data": points,
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
    def test_recovers_the_line(self):
        """The fitted model finds slope 2 and intercept 1 of the generated data."""
        model = run_ml_pipeline()["fit_linear_model"]

        assert model["slope"] == pytest.approx(2.0, abs=0.05)
        assert model["intercept"] == pytest.approx(1.0, abs=0.3)

    def test_evaluation_passes(self):
        """The model's test RMSE is below 1 (the noise is 0.5), so evaluation passes."""
        evaluation = run_ml_pipeline()["evaluate_model"]

        assert 0 < evaluation["rmse"] < 1
        assert evaluation["passed"] is True

    def test_evaluation_fails_above_the_limit(self):
        """evaluate_model fails the model when the RMSE is above max_rmse."""
        trained = run_ml_pipeline()["train_model"]

        assert tasks.evaluate_model(context(train_model=trained), max_rmse=0.01)["passed"] is False

    def test_split_keeps_every_point(self):
        """split_data divides the points 3:1 between training and test sets without losing any."""
        outputs = run_ml_pipeline(n_points=200)
        split = outputs["split_data"]

        assert len(split["train"]) == 150
        assert len(split["test"]) == 50
        assert sorted(split["train"] + split["test"]) == sorted(outputs["generate_data"])

    def test_group_gathers_its_children(self):
        """train_model returns the fitted model, the training size and the test set."""
        outputs = run_ml_pipeline()
        trained = outputs["train_model"]

        assert trained["model"] == outputs["fit_linear_model"]
        assert trained["train_size"] == len(outputs["split_data"]["train"])
        assert trained["test"] == outputs["split_data"]["test"]

    def test_same_seed_same_data(self):
        """generate_data is deterministic for a seed, so reruns are reproducible."""
        assert tasks.generate_data(seed=3) == tasks.generate_data(seed=3)
        assert tasks.generate_data(seed=3) != tasks.generate_data(seed=4)

    def test_outputs_are_json(self):
        """Every output can be stored as JSON, as the engine requires."""
        outputs = run_ml_pipeline(n_points=20)

        assert json.loads(json.dumps(outputs)) == outputs


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
