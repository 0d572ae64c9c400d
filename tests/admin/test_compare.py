"""Compare runs: the run list's action, the page's permission, its highlighting, outputs and queries."""

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.admin.run_comparison import compare, lower_is_better
from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import Artifact, Metric, Tag

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

COMPARE = "admin:flowforge_admin_flowrun_compare"
CHANGELIST = "admin:flowforge_admin_flowrun_changelist"


@pytest.fixture
def flow():
    return register_task_pipeline(
        "trained", {"prepare": {"function": t.echo}, "train": {"function": t.echo, "depends_on": ["prepare"]}}
    )


def compare_url(*runs):
    return reverse(COMPARE) + "?ids=" + ",".join(str(run.pk) for run in runs)


def log(run, name, value, task="train", step=None):
    task_run = run.task_runs.get(task_name=task)
    Metric.objects.create(run=run, task_run=task_run, attempt=1, name=name, value=value, step=step)


def select(client, runs):
    return client.post(
        reverse(CHANGELIST),
        {"action": "compare_selected", "_selected_action": [run.pk for run in runs]},
    )


def message_texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# The action ------------------------------------------------------------------------


def test_the_action_goes_to_the_compare_page_of_the_selected_runs(stakeholder_client, flow):
    runs = [run_flow(flow) for _ in range(3)]
    response = select(stakeholder_client, runs)
    assert response.status_code == 302
    assert response.url == compare_url(*runs)


@pytest.mark.parametrize("count", [1, 6])
def test_the_action_refuses_fewer_than_2_or_more_than_5_runs(stakeholder_client, flow, count):
    runs = [run_flow(flow) for _ in range(count)]
    response = select(stakeholder_client, runs)
    assert response.status_code == 302
    assert response.url == reverse(CHANGELIST)  # back to the list, nothing else
    assert message_texts(response) == [f"Select from 2 to 5 runs to compare them ({count} selected)."]


def test_a_stakeholder_sees_the_action_on_the_run_list(stakeholder_client, flow):
    run_flow(flow)
    text = stakeholder_client.get(reverse(CHANGELIST)).text
    assert '<option value="compare_selected">Compare selected runs</option>' in text


# The page: permission and bad ids --------------------------------------------------


def test_the_page_needs_the_view_permission_on_runs(client, flow):
    runs = [run_flow(flow), run_flow(flow)]
    response = client.get(compare_url(*runs))
    assert response.status_code == 302  # to the login page
    assert "/login/" in response.url
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(compare_url(*runs)).status_code == 403


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ("", "Select from 2 to 5 runs to compare them (0 selected)."),
        ("{a}", "Select from 2 to 5 runs to compare them (1 selected)."),
        ("{a},{a}", "Select from 2 to 5 runs to compare them (1 selected)."),
        ("{a},{b},{b},7,8,9,10", "Select from 2 to 5 runs to compare them (6 selected)."),
        ("{a},x", "“x” is not a run id."),
        ("{a},-3", "“-3” is not a run id."),
        ("{a},99999999999999999999", "“99999999999999999999” is not a run id."),
        ("{a},987654", "There is no run #987654: it may have been deleted."),
    ],
)
def test_bad_ids_go_back_to_the_run_list_with_a_message(stakeholder_client, flow, ids, message):
    a, b = run_flow(flow), run_flow(flow)
    response = stakeholder_client.get(reverse(COMPARE) + "?ids=" + ids.format(a=a.pk, b=b.pk))
    assert response.status_code == 302
    assert response.url == reverse(CHANGELIST)
    assert message_texts(response) == [message]


# What the page shows ---------------------------------------------------------------


def page(client, *runs):
    response = client.get(compare_url(*runs))
    assert response.status_code == 200
    return response


def test_columns_in_the_order_asked_with_flow_status_and_breadcrumbs(stakeholder_client, flow):
    a, b = run_flow(flow), run_flow(flow)
    response = page(stakeholder_client, b, a)
    assert [column.run.pk for column in response.context["comparison"]["columns"]] == [b.pk, a.pk]
    text = response.text
    assert text.index(f">#{b.pk}</a></th>") < text.index(f">#{a.pk}</a></th>")
    assert '<div class="breadcrumbs">' in text
    assert "Compare</div>" in text.replace("\n", "")
    assert '<span class="ff-status ff-status-succeeded">succeeded</span>' in text


def test_differing_parameters_are_marked(stakeholder_client, flow):
    a = run_flow(flow, {"alpha": 0.1, "seed": 1})
    b = run_flow(flow, {"alpha": 0.5, "seed": 1})
    params = {row.label: row for row in page(stakeholder_client, a, b).context["comparison"]["params"]}
    assert params["alpha"].cells == ["0.1", "0.5"]
    assert params["alpha"].differs
    assert not params["seed"].differs


@pytest.mark.parametrize(
    ("name", "lower"),
    [
        ("loss", True),
        ("val_loss", True),
        ("log_loss", True),
        ("logloss", True),
        ("trainLoss", True),
        ("val-RMSE", True),
        ("mse", True),
        ("mean_absolute_error", True),
        ("mae", True),
        ("mape", True),
        ("fit_time", True),
        ("duration_s", True),
        ("accuracy", False),
        ("f1", False),
        ("r2", False),
        ("runtime", False),  # not a whole word part
        ("glossary", False),
        ("timestamp_count", False),
    ],
)
def test_which_metrics_are_better_lower(name, lower):
    assert lower_is_better(name) is lower


def test_the_best_metric_value_of_each_row_is_marked_lower_or_higher(stakeholder_client, flow):
    a, b, c = run_flow(flow), run_flow(flow), run_flow(flow)
    for run, loss, accuracy in [(a, 0.5, 0.7), (b, 0.2, 0.9), (c, None, 0.9)]:
        log(run, "val_loss", loss)
        log(run, "accuracy", accuracy)
    log(a, "only_one", 3.0)
    response = page(stakeholder_client, a, b, c)
    metrics = {row.label: row for row in response.context["comparison"]["metrics"]}
    assert metrics["val_loss"].marked == [("0.5", False), ("0.2", True), ("NaN", False)]
    assert metrics["accuracy"].marked == [("0.7", False), ("0.9", True), ("0.9", True)]  # a tie: both
    assert metrics["only_one"].marked == [("3", False), (None, False), (None, False)]  # nothing to beat
    text = response.text
    assert '<td class="ff-num-left ff-best">0.2</td>' in text
    assert 'data-metric="val_loss" data-better="lower"' in text
    assert 'data-metric="accuracy" data-better="higher"' in text
    assert "lowest for losses, errors" in text


def test_the_last_value_is_by_step(stakeholder_client, flow):
    a, b = run_flow(flow), run_flow(flow)
    log(a, "loss", 0.1, step=2)
    log(a, "loss", 0.9, step=1)  # logged later, an earlier step
    log(b, "loss", 0.5)
    metrics = page(stakeholder_client, a, b).context["comparison"]["metrics"]
    assert metrics[0].cells == ["0.1", "0.5"]


def test_tags_side_by_side(stakeholder_client, flow):
    a, b = run_flow(flow), run_flow(flow)
    Tag.objects.create(run=a, task_run=a.task_runs.get(task_name="train"), key="algorithm", value="ridge")
    Tag.objects.create(run=b, task_run=b.task_runs.get(task_name="train"), key="algorithm", value="lasso")
    Tag.objects.create(run=b, task_run=b.task_runs.get(task_name="prepare"), key="source", value="s3")
    tags = {row.label: row for row in page(stakeholder_client, a, b).context["comparison"]["tags"]}
    assert tags["algorithm"].cells == ["ridge", "lasso"]
    assert tags["algorithm"].differs
    assert tags["source"].cells == [None, "s3"]


def outputs(client, *runs):
    return {line.name: line.output for line in page(client, *runs).context["comparison"]["tasks"]}


def test_json_outputs_are_compared(stakeholder_client, flow):
    a, b, c = run_flow(flow, {"n": 1}), run_flow(flow, {"n": 1}), run_flow(flow, {"n": 2})
    assert outputs(stakeholder_client, a, b) == {"prepare": "same", "train": "same"}
    assert outputs(stakeholder_client, a, c) == {"prepare": "differs", "train": "differs"}


def make_artifact(run, task, signature):
    task_run = run.task_runs.get(task_name=task)
    task_run.output = None
    task_run.save(update_fields=["output"])
    # No file: the page compares signatures and never opens one.
    Artifact.objects.create(
        task_run=task_run,
        attempt=1,
        path=f"runs/{run.pk}/{task}.npy",
        serializer="npy",
        type_name="numpy.ndarray",
        size=128,
        signature=signature * 64,
    )


def test_artifacts_are_compared_by_signature(stakeholder_client, flow):
    a, b, c = run_flow(flow), run_flow(flow), run_flow(flow)
    make_artifact(a, "train", "a")
    make_artifact(b, "train", "a")
    make_artifact(c, "train", "c")
    make_artifact(c, "prepare", "d")  # an artifact where the others have JSON
    assert outputs(stakeholder_client, a, b) == {"prepare": "same", "train": "same"}
    assert outputs(stakeholder_client, a, b, c) == {"prepare": "differs", "train": "differs"}


def test_runs_of_different_flows_show_a_dash_for_tasks_they_lack(stakeholder_client, flow):
    other = register_task_pipeline("other", {"prepare": {"function": t.echo}, "score": {"function": t.echo}})
    a, b = run_flow(flow), run_flow(other)
    response = page(stakeholder_client, a, b)
    lines = {line.name: line for line in response.context["comparison"]["tasks"]}
    assert list(lines) == ["prepare", "train", "score"]
    assert lines["train"].cells[1] is None
    assert lines["train"].output is None
    assert lines["score"].cells[0] is None
    assert '<tr class="ff-compare-task" data-task="score">' in response.text


def queries_for(client, runs):
    with CaptureQueriesContext(connection) as queries:
        page(client, *runs)
    return len(queries)


def test_the_page_costs_the_same_queries_for_2_small_and_5_big_runs(stakeholder_client, flow):
    small = [run_flow(flow, {"n": i}) for i in range(2)]
    for run in small:
        log(run, "loss", 0.5)
    few = queries_for(stakeholder_client, small)
    pipeline = {f"t{i}": {"function": t.echo} for i in range(30)}
    big_flow = register_task_pipeline("big", pipeline)
    big = [run_flow(big_flow, {"n": i, "m": i}) for i in range(5)]
    for run in big:
        for i in range(10):
            log(run, f"m{i}", i, task=f"t{i}")
            Tag.objects.create(run=run, task_run=run.task_runs.get(task_name=f"t{i}"), key=f"k{i}", value="v")
        make_artifact(run, "t0", "e")
    assert queries_for(stakeholder_client, big) == few


def test_the_comparison_is_three_queries_after_the_runs(flow, django_assert_num_queries):
    runs = [run_flow(flow) for _ in range(3)]
    with django_assert_num_queries(3):
        comparison = compare(runs)
    assert len(comparison["tasks"]) == 2
