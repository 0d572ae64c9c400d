"""The run page's Metrics section: last values, counts, min / max per step, NaN, tags, queries."""

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.admin.run_metrics import SPARK_POINTS, metric_text, metrics_context, run_series
from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import Metric, Tag

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    flow = register_task_pipeline(
        "trained", {"prepare": {"function": t.echo}, "train": {"function": t.echo, "depends_on": ["prepare"]}}
    )
    return run_flow(flow)


def log(run, task, name, value, step=None):
    task_run = run.task_runs.get(task_name=task)
    return Metric.objects.create(run=run, task_run=task_run, attempt=1, name=name, value=value, step=step)


def page(client, run):
    response = client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]))
    assert response.status_code == 200
    return response


def test_a_series_logged_per_step_shows_last_value_count_min_and_max(stakeholder_client, run):
    # Logged out of order: the last value is the one of the highest step, not the newest row.
    for step, value in [(0, 0.9), (2, 0.3), (1, 0.5)]:
        log(run, "train", "loss", value, step)
    [series] = run_series(run)
    assert (series.task_name, series.name, series.count) == ("train", "loss", 3)
    assert (series.last, series.low, series.high) == (0.3, 0.3, 0.9)
    assert series.points == [0.9, 0.5, 0.3]  # by step, oldest first
    assert series.sparkline.count(",") == 3

    row = page(stakeholder_client, run).text
    assert 'data-metric="loss" data-task="train"' in row
    assert '<td class="ff-num ff-metric-last">0.3</td>' in row
    assert '<polyline points="' in row


def test_a_series_without_steps_shows_its_newest_value_and_no_min_max(run):
    log(run, "prepare", "rows", 10)
    log(run, "prepare", "rows", 12)
    [series] = run_series(run)
    assert (series.last, series.count, series.per_step) == (12, 2, False)
    assert (series.low_text, series.high_text) == ("", "")


def test_nan_is_shown_as_nan_and_left_out_of_min_and_max(stakeholder_client, run):
    log(run, "train", "loss", 0.4, 0)
    log(run, "train", "loss", None, 1)  # NaN is stored as no value
    [series] = run_series(run)
    assert series.last is None
    assert series.last_text == "NaN"
    assert (series.low, series.high) == (0.4, 0.4)
    assert '<td class="ff-num ff-metric-last">NaN</td>' in page(stakeholder_client, run).text


def test_metric_text():
    assert metric_text(None) == "NaN"
    assert metric_text(math.nan) == "NaN"
    assert metric_text(math.inf) == "∞"
    assert metric_text(-math.inf) == "−∞"
    assert metric_text(0.123456789) == "0.123457"
    assert metric_text(3.0) == "3"


def test_the_same_name_in_two_tasks_is_two_series(run):
    log(run, "prepare", "seconds", 1.5)
    log(run, "train", "seconds", 7.0)
    assert [(s.task_name, s.last) for s in run_series(run)] == [("prepare", 1.5), ("train", 7.0)]


def test_the_sparkline_draws_the_last_steps_only(run):
    Metric.objects.bulk_create(
        Metric(run=run, task_run=run.task_runs.get(task_name="train"), attempt=1, name="acc", value=i, step=i)
        for i in range(SPARK_POINTS + 30)
    )
    [series] = run_series(run)
    assert series.count == SPARK_POINTS + 30
    assert (series.low, series.high, series.last) == (0, SPARK_POINTS + 29, SPARK_POINTS + 29)
    assert series.points == list(range(30, SPARK_POINTS + 30))


def test_tags_show_key_value_and_the_task_that_set_them(stakeholder_client, run):
    Tag.objects.create(run=run, task_run=run.task_runs.get(task_name="train"), key="algorithm", value="ridge")
    text = page(stakeholder_client, run).text
    assert '<span class="ff-tag-key">algorithm</span> = ridge</code>' in text
    assert "set by train" in text


def test_a_run_without_metrics_says_so(stakeholder_client, run):
    text = page(stakeholder_client, run).text
    assert "No task of this run logged a metric." in text
    assert "No task of this run set a tag." in text


def queries_for(client, run):
    with CaptureQueriesContext(connection) as queries:
        page(client, run)
    return len(queries)


def test_the_section_costs_the_same_queries_for_1_and_many_series(admin_client, run):
    log(run, "train", "loss", 1.0, 0)
    Tag.objects.create(run=run, task_run=run.task_runs.get(task_name="train"), key="a", value="1")
    page(admin_client, run)  # warm the per-process snapshot cache
    few = queries_for(admin_client, run)
    train = run.task_runs.get(task_name="train")
    Metric.objects.bulk_create(
        Metric(run=run, task_run=train, attempt=1, name=f"m{n}", value=i, step=i)
        for n in range(20)
        for i in range(30)
    )
    for key in "bcdefg":
        Tag.objects.create(run=run, task_run=train, key=key, value=key)
    assert queries_for(admin_client, run) == few
    series = run_series(run)
    assert len(series) == 21


def test_the_metrics_and_tags_are_two_queries(run, django_assert_num_queries):
    log(run, "train", "loss", 1.0, 0)
    with django_assert_num_queries(2):
        context = metrics_context(run)
        assert len(context["metric_series"]) == 1
