"""The run graph's list of a mapped task's instances: pages, links, permissions, bad input, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.admin.graph_instances import PER_PAGE
from flowforge_admin.api import run_flow
from flowforge_admin.models import TaskRun
from flowforge_admin.states import TaskState

from .test_mapped_runs import grid_flow

pytestmark = pytest.mark.django_db


def url(run, **params):
    return reverse("admin:flowforge_admin_flowrun_graph_instances", args=[run.pk]), params


def get(client, run, **params):
    path, query = url(run, **params)
    return client.get(path, query)


@pytest.fixture
def run(tmp_path):
    return run_flow(grid_flow(count=120, fail_index=51), {"marker_dir": str(tmp_path)})


def test_the_first_page_lists_50_instances_in_index_order_with_their_links(admin_client, run):
    data = get(admin_client, run, task="train").json()

    assert (data["task"], data["count"], data["page"], data["pages"], data["per_page"]) == (
        "train",
        120,
        1,
        3,
        50,
    )
    assert [entry["index"] for entry in data["instances"]] == list(range(PER_PAGE))
    first = data["instances"][0]
    row = TaskRun.objects.get(run=run, task_name="train[0]")
    assert (first["name"], first["status"], first["label"], first["attempt"], first["max_attempts"]) == (
        "train[0]",
        "succeeded",
        str(TaskState.SUCCEEDED.label),
        1,
        1,
    )
    assert first["duration"] == round((row.finished_at - row.started_at).total_seconds(), 3)
    assert first["log_url"] == reverse("admin:flowforge_admin_taskrun_log", args=[row.pk])
    assert first["change_url"] == reverse("admin:flowforge_admin_taskrun_change", args=[row.pk])
    assert data["previous_url"] is None
    assert data["next_url"] == url(run)[0] + "?task=train&page=2"


def test_the_next_pages_continue_and_the_last_one_is_short(admin_client, run):
    second = get(admin_client, run, task="train", page="2").json()
    last = admin_client.get(second["next_url"]).json()

    assert [entry["index"] for entry in second["instances"]] == list(range(50, 100))
    assert next(e for e in second["instances"] if e["index"] == 51)["status"] == "failed"
    assert second["previous_url"] == url(run)[0] + "?task=train&page=1"
    assert [entry["index"] for entry in last["instances"]] == list(range(100, 120))
    assert (last["page"], last["next_url"]) == (3, None)


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, "Give the mapped task's name: ?task=<name>."),
        ({"task": "grid"}, 404, "has no mapped task named 'grid'"),  # a task, but not a mapped one
        ({"task": "nope"}, 404, "has no mapped task named 'nope'"),
        ({"task": "train[3]"}, 404, "has no mapped task named 'train[3]'"),  # an instance is no task
        ({"task": "train", "page": "two"}, 400, "The page must be a whole number from 1."),
        ({"task": "train", "page": "4"}, 404, "Page 4 does not exist: train has 3 page(s) of instances."),
        ({"task": "train", "page": "0"}, 404, "Page 0 does not exist"),
    ],
)
def test_bad_input_gets_a_json_error_naming_the_problem(admin_client, run, params, status, message):
    response = get(admin_client, run, **params)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert message in response.json()["error"]


def test_an_unknown_run_is_a_404(admin_client):
    response = admin_client.get(
        reverse("admin:flowforge_admin_flowrun_graph_instances", args=[999999]), {"task": "train"}
    )
    assert response.status_code == 404


def test_it_needs_the_graphs_view_permission(client, django_user_model, stakeholder_client, run):
    assert get(stakeholder_client, run, task="train").status_code == 200  # view-only role
    client.force_login(django_user_model.objects.create_user("staff", password="pw", is_staff=True))
    assert get(client, run, task="train").status_code == 403
    client.logout()
    response = get(client, run, task="train")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def count_queries(client, run, **params):
    with CaptureQueriesContext(connection) as queries:
        assert get(client, run, **params).status_code == 200
    return len(queries)


def test_a_page_takes_the_same_queries_for_6_and_60_instances(admin_client, tmp_path):
    small = run_flow(grid_flow("small"), {"marker_dir": str(tmp_path)})
    large = run_flow(grid_flow("large", count=60), {"marker_dir": str(tmp_path)})

    count_queries(admin_client, small, task="train")  # the session's and the admin's first reads, once
    small_queries = count_queries(admin_client, small, task="train")
    assert count_queries(admin_client, large, task="train") == small_queries
    assert count_queries(admin_client, large, task="train", page="2") == small_queries
