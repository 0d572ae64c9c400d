"""/health/ (the web app's database) and /health/workers/ (clusters alive, queue moving): no login needed."""

import datetime
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import override_settings
from django.utils import timezone
from django_q.conf import Conf

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import TaskRun
from flowforge_admin.queues import default_queue
from flowforge_admin.states import TaskState

from . import engine_tasks as t
from .engine.cluster import wait_for

pytestmark = pytest.mark.django_db
# Fixtures writing and clearing Django-Q2 cluster reports.
pytest_plugins = ["tests.cluster_reports"]

# The ORM broker counts its queue in the database; Redis does not.
BROKER_QUERIES = 1 if Conf.ORM else 0


def get_json(client, url):
    response = client.get(url, HTTP_ACCEPT="application/json")
    return response.status_code, response.json()


def worker_checks(body):
    """Return {check name: (its report, its status)} from /health/workers/'s JSON."""
    return {key.split("(")[0]: (key, status) for key, status in body.items()}


@pytest.fixture
def queued_task():
    """A run whose first task is queued (no worker takes it in these tests)."""
    flow = register_task_pipeline("waiting", {"first": {"function": t.echo}})
    run = launch_flow(flow)
    return run.task_runs.get(task_name="first")


def test_health_answers_200_with_the_database_without_login(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_page_without_the_health_check_app_is_plain_text(client, settings):
    """A host installs only Flow Forge's four apps: a browser's probe still gets the report, not a 500."""
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "health_check"]
    response = client.get("/health/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Database(alias='default'): OK" in response.content.decode()


def test_health_gives_json_by_query_or_accept_header(client):
    assert client.get("/health/?format=json").json() == {"Database(alias='default')": "OK"}
    assert get_json(client, "/health/") == (200, {"Database(alias='default')": "OK"})


def test_health_answers_500_when_the_database_is_down(client):
    with mock.patch.object(
        BaseDatabaseWrapper, "temporary_connection", side_effect=OperationalError("connection refused")
    ):
        status, body = get_json(client, "/health/")
    assert status == 500
    assert body == {"Database(alias='default')": "Unavailable: connection refused"}


def test_workers_health_fails_without_a_cluster(client, no_live_cluster, django_assert_num_queries):
    # The oldest queued task run and the queues the flows name; the broker's depth and its queues' depths.
    with django_assert_num_queries(2 + 2 * BROKER_QUERIES):
        status, body = get_json(client, "/health/workers/")
    assert status == 500
    checks = worker_checks(body)
    report, message = checks["WorkerClusters"]
    assert report == "WorkerClusters(alive=0)"
    assert message == "Unavailable: no Django-Q2 cluster reported in the last 60 s (no cluster has reported)"
    assert checks["TaskQueue"] == ("TaskQueue(depth=0, oldest_queued_seconds=None)", "OK")


def test_a_stale_or_stopped_cluster_is_not_alive(client, report_cluster):
    report_cluster("old", age_seconds=61)
    report_cluster("leaving", status=Conf.STOPPED)
    status, body = get_json(client, "/health/workers/")
    assert status == 500
    _, message = worker_checks(body)["WorkerClusters"]
    assert message.startswith("Unavailable: no Django-Q2 cluster reported in the last 60 s (")
    assert "old on " in message
    assert "leaving on " in message


def test_the_stale_limit_is_a_setting(client, report_cluster):
    report_cluster("old", age_seconds=61)
    with override_settings(FLOWFORGE_WORKER_STALE_SECONDS=120):
        status, body = get_json(client, "/health/workers/")
    assert status == 200
    assert worker_checks(body)["WorkerClusters"] == ("WorkerClusters(alive=1)", "OK")


def test_workers_health_reports_queue_depth_and_oldest_queued_age(client, report_cluster, queued_task):
    report_cluster()
    launch_flow("waiting")  # a second run (the ORM broker's messages are written with the launch)
    TaskRun.objects.filter(pk=queued_task.pk).update(
        queued_at=timezone.now() - datetime.timedelta(seconds=90)
    )

    status, body = get_json(client, "/health/workers/")

    assert status == 200
    report, result = worker_checks(body)["TaskQueue"]
    assert result == "OK"
    assert report.startswith("TaskQueue(depth=2, oldest_queued_seconds=9")  # 90 s and a little


def test_workers_health_lists_every_queue_with_its_depth(client, report_cluster, settings):
    """The project's cluster, the queues FLOWFORGE_QUEUES lists and those the flows name, with their messages."""
    report_cluster()
    register_task_pipeline(
        "routed", {"train": {"function": t.echo, "queue": "gpu"}, "plain": {"function": t.echo}}
    )
    launch_flow("routed")  # the ORM broker's messages are written with the launch
    launch_flow("routed")
    settings.FLOWFORGE_QUEUES = ["io"]  # set after gpu's flow was registered: the flows' queues count too

    status, body = get_json(client, "/health/workers/")

    assert status == 200
    depths = dict(sorted({default_queue(): 2, "gpu": 2, "io": 0}.items()))
    assert worker_checks(body)["Queues"] == (f"Queues(depths={depths!r})", "OK")


def test_a_task_queued_too_long_fails_workers_health(client, report_cluster, queued_task):
    report_cluster()
    TaskRun.objects.filter(pk=queued_task.pk).update(
        queued_at=timezone.now() - datetime.timedelta(seconds=700)
    )

    status, body = get_json(client, "/health/workers/")

    assert status == 500
    _, message = worker_checks(body)["TaskQueue"]
    assert message.startswith("Unavailable: the oldest queued task has waited 70")
    assert message.endswith(" s for a worker (limit 600 s)")
    assert worker_checks(body)["WorkerClusters"][1] == "OK"


def test_the_queued_age_limit_can_be_turned_off(client, report_cluster, queued_task):
    report_cluster()
    TaskRun.objects.filter(pk=queued_task.pk).update(queued_at=timezone.now() - datetime.timedelta(days=1))
    with override_settings(FLOWFORGE_MAX_QUEUED_AGE_SECONDS=0):
        status, _ = get_json(client, "/health/workers/")
    assert status == 200


def test_only_queued_task_runs_count_for_the_queued_age(client, report_cluster, queued_task):
    report_cluster()
    TaskRun.objects.filter(pk=queued_task.pk).update(
        status=TaskState.RUNNING, queued_at=timezone.now() - datetime.timedelta(days=1)
    )
    status, body = get_json(client, "/health/workers/")
    assert status == 200
    # Its message is still in the broker (depth); no task run is queued (age).
    assert worker_checks(body)["TaskQueue"][0] == "TaskQueue(depth=1, oldest_queued_seconds=None)"


@pytest.mark.django_db(transaction=True)
def test_a_real_cluster_is_seen_by_the_web_process(client, no_live_cluster, cluster):
    """The cluster's reports reach this process through the shared cache (or Redis)."""

    def healthy():
        return client.get("/health/workers/?format=json").status_code == 200

    wait_for(healthy, timeout=15, message="/health/workers/ to see the cluster")
    status, body = get_json(client, "/health/workers/")
    assert worker_checks(body)["WorkerClusters"] == (f"WorkerClusters(alive={len(cluster.members)})", "OK")
