"""The flow page's "Metrics across runs" chart: its data, and the queries it costs."""

import json
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.admin.flow_metrics import CHART_RUNS, flow_metrics_chart
from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import Metric

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return register_task_pipeline(
        "model", {"prepare": {"function": t.echo}, "train": {"function": t.echo, "depends_on": ["prepare"]}}
    )


def log(run, name, value, step=None, task="train"):
    task_run = run.task_runs.get(task_name=task)
    Metric.objects.create(run=run, task_run=task_run, attempt=1, name=name, value=value, step=step)


def test_one_line_per_metric_with_each_runs_last_value_oldest_run_left(flow):
    first, second, third = run_flow(flow), run_flow(flow), run_flow(flow)
    log(first, "loss", 0.9, 0)
    log(first, "loss", 0.5, 1)
    log(second, "loss", 0.4, 0)
    log(second, "accuracy", 0.8)
    log(third, "loss", None, 0)  # NaN: a gap
    log(third, "accuracy", math.inf)  # JSON has no infinity: a gap too
    chart = flow_metrics_chart(flow)
    assert chart["runs"] == [first.pk, second.pk, third.pk]
    assert [label[0] for label in chart["labels"]] == [f"#{first.pk}", f"#{second.pk}", f"#{third.pk}"]
    assert chart["lines"] == [
        {"name": "accuracy", "values": [None, 0.8, None]},
        {"name": "loss", "values": [0.5, 0.4, None]},
    ]
    assert chart["more"] == 0


def test_the_last_value_over_all_tasks_is_by_step_then_newest(flow):
    run = run_flow(flow)
    log(run, "score", 1.0, 5, task="prepare")
    log(run, "score", 2.0, 3, task="train")
    log(run, "rows", 10, task="prepare")
    log(run, "rows", 20, task="train")
    lines = {line["name"]: line["values"] for line in flow_metrics_chart(flow)["lines"]}
    assert lines == {"score": [1.0], "rows": [20]}


def test_only_the_last_runs_are_drawn(flow):
    runs = [run_flow(flow) for _ in range(CHART_RUNS + 2)]
    for i, run in enumerate(runs):
        log(run, "loss", float(i))
    chart = flow_metrics_chart(flow)
    assert chart["runs"] == [run.pk for run in runs[2:]]
    assert chart["lines"][0]["values"] == [float(i) for i in range(2, CHART_RUNS + 2)]


def test_no_metrics_no_chart(flow, admin_client):
    assert flow_metrics_chart(flow) is None  # no run
    run_flow(flow)
    assert flow_metrics_chart(flow) is None  # runs, no metric
    text = admin_client.get(reverse("admin:flowforge_admin_flow_change", args=[flow.pk])).text
    assert "No run of this flow logged a metric yet." in text
    assert "chart.umd.min.js" not in text


def test_the_flow_page_carries_the_data_and_the_vendored_library(flow, stakeholder_client):
    run = run_flow(flow)
    log(run, "loss", 0.25)
    response = stakeholder_client.get(reverse("admin:flowforge_admin_flow_change", args=[flow.pk]))
    text = response.text
    assert "Metrics across runs" in text
    assert "flowforge_admin/vendor/chartjs/chart.umd.min.js" in text
    assert 'type="module" src="/static/flowforge_admin/js/metrics_chart.js"' in text
    data = json.loads(
        text.split('id="ff-metrics-chart-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["lines"] == [{"name": "loss", "values": [0.25]}]


def test_the_chart_is_two_queries_whatever_the_runs_and_metrics(flow, django_assert_num_queries):
    for i in range(12):
        run = run_flow(flow)
        for name in ("loss", "accuracy", "rows"):
            for step in range(5):
                log(run, name, i + step, step)
    with django_assert_num_queries(2):
        chart = flow_metrics_chart(flow)
    assert len(chart["lines"]) == 3
    assert len(chart["runs"]) == 12


def test_the_flow_page_costs_the_same_queries_for_few_and_many_runs_with_metrics(flow, admin_client):
    url = reverse("admin:flowforge_admin_flow_change", args=[flow.pk])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    run = run_flow(flow)
    log(run, "loss", 1.0)
    few = queries()
    for i in range(10):
        run = run_flow(flow)
        for name in ("loss", "accuracy", "f1"):
            log(run, name, i / 10, step=i)
    assert queries() == few
