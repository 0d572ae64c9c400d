"""/metrics: Prometheus text for a bearer token or a staff user who may view runs, in constant queries."""

import datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from django.utils import timezone
from django_q.conf import Conf
from prometheus_client.parser import text_string_to_metric_families

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.models import TaskRun
from flowforge_admin.states import RunState, TaskState

from . import engine_tasks as t

pytestmark = pytest.mark.django_db
# Fixtures writing and clearing Django-Q2 cluster reports.
pytest_plugins = ["tests.cluster_reports"]

TOKEN = "s3cret-metrics-token"
# Flow runs, task runs, and the broker's queue when it is the ORM's.
SCRAPE_QUERIES = 2 + (1 if Conf.ORM else 0)


@pytest.fixture
def flow():
    return register_task_pipeline(
        "measured", {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}}
    )


@pytest.fixture
def token():
    with override_settings(FLOWFORGE_METRICS_TOKEN=TOKEN):
        yield TOKEN


def scrape(client, token=TOKEN):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def samples(response):
    """Return {(sample name, labels as a tuple): value} parsed from a scrape."""
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def by_status(values, name):
    return {labels[0][1]: value for (sample, labels), value in values.items() if sample == name}


def set_duration(task_run, seconds):
    end = timezone.now()
    TaskRun.objects.filter(pk=task_run.pk).update(
        started_at=end - datetime.timedelta(seconds=seconds), finished_at=end
    )


def test_anonymous_requests_get_401_saying_what_is_needed(client, token):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "Authorization: Bearer <FLOWFORGE_METRICS_TOKEN>" in response.text
    assert "flowforge_" not in response.text


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer wrong-token", "Invalid metrics token."),
        (f"Bearer {TOKEN}x", "Invalid metrics token."),
        ("Bearer ", "Invalid metrics token."),
        (f"Basic {TOKEN}", "Unsupported Authorization scheme"),
    ],
)
def test_a_wrong_token_gets_401(client, token, header, message):
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert message in response.text


def test_without_a_configured_token_no_token_is_accepted(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401
    assert "FLOWFORGE_METRICS_TOKEN is not set" in response.text


def test_the_right_token_reads_the_metrics(client, token):
    response = scrape(client)
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert samples(response)[("flowforge_flow_runs", (("status", "queued"),))] == 0


def test_a_staff_user_who_may_view_runs_reads_the_metrics(stakeholder_client, flow):
    run_flow(flow)
    assert samples(stakeholder_client.get("/metrics"))[("flowforge_flow_runs", (("status", "failed"),))] == 1


@pytest.mark.parametrize("is_staff", [True, False])
def test_other_logged_in_users_get_403(client, is_staff):
    user = User.objects.create_user("viewer", password="pw", is_staff=is_staff)
    if not is_staff:
        user.user_permissions.add(Permission.objects.get(codename="view_flowrun"))
    client.force_login(user)
    response = client.get("/metrics")
    assert response.status_code == 403
    assert "view_flowrun" in response.text


def test_every_status_is_present_even_when_zero(client, token):
    values = samples(scrape(client))
    assert by_status(values, "flowforge_flow_runs") == dict.fromkeys(RunState.values, 0)
    assert by_status(values, "flowforge_task_runs") == dict.fromkeys(TaskState.values, 0)


def test_runs_and_task_runs_are_counted_by_status(client, token, flow):
    run_flow(flow)  # ok succeeds, bad fails: the run fails
    run_flow(flow)
    launch_flow(flow)  # queued: ok queued, bad pending

    values = samples(scrape(client))

    assert by_status(values, "flowforge_flow_runs") == {
        **dict.fromkeys(RunState.values, 0),
        "failed": 2,
        "queued": 1,
    }
    expected_tasks = dict.fromkeys(TaskState.values, 0) | {
        "succeeded": 2,
        "failed": 2,
        "queued": 1,
        "pending": 1,
    }
    assert by_status(values, "flowforge_task_runs") == expected_tasks
    # The kept counters agree with the task rows themselves.
    for state, count in expected_tasks.items():
        assert TaskRun.objects.filter(status=state).count() == count


def test_task_durations_make_a_cumulative_histogram(client, token, flow):
    finished = []
    for _ in range(2):
        finished += list(run_flow(flow).task_runs.order_by("pk"))
    for task_run, seconds in zip(finished, [0.05, 2, 100, 4000], strict=True):
        set_duration(task_run, seconds)
    waiting = launch_flow(flow).task_runs.get(task_name="ok")
    set_duration(waiting, 1)  # started long ago but not finished: not in the histogram

    values = samples(scrape(client))

    buckets = {
        labels[0][1]: value
        for (name, labels), value in values.items()
        if name == "flowforge_task_run_duration_seconds_bucket"
    }
    assert buckets == {
        "0.1": 1,
        "0.5": 1,
        "1.0": 1,
        "5.0": 2,
        "15.0": 2,
        "60.0": 2,
        "300.0": 3,
        "1800.0": 3,
        "+Inf": 4,
    }
    assert values[("flowforge_task_run_duration_seconds_count", ())] == 4
    assert values[("flowforge_task_run_duration_seconds_sum", ())] == pytest.approx(4102.05)


def test_queue_workers_and_lost_attempts(
    client, token, flow, report_cluster, django_capture_on_commit_callbacks
):
    report_cluster("a")
    report_cluster("b", age_seconds=600)  # stale: not counted
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow)
    queued = run.task_runs.get(task_name="ok")
    TaskRun.objects.filter(pk=queued.pk).update(
        lost_attempts=2, queued_at=timezone.now() - datetime.timedelta(seconds=120)
    )
    TaskRun.objects.filter(run=run, task_name="bad").update(lost_attempts=1)

    values = samples(scrape(client))

    assert values[("flowforge_queue_depth", ())] == 1
    assert values[("flowforge_worker_clusters", ())] == 1
    assert values[("flowforge_lost_attempts_total", ())] == 3
    assert 120 <= values[("flowforge_oldest_queued_task_age_seconds", ())] < 180


def test_a_scrape_takes_the_same_queries_for_1_or_20_runs(client, token, flow, django_assert_num_queries):
    run_flow(flow)
    with django_assert_num_queries(SCRAPE_QUERIES):
        scrape(client)
    for _ in range(19):
        run_flow(flow)
    with django_assert_num_queries(SCRAPE_QUERIES):
        values = samples(scrape(client))
    assert values[("flowforge_flow_runs", (("status", "failed"),))] == 20
