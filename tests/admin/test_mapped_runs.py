"""Mapped tasks in this process (run_flow): the run page, the run graph, the API and control of instances."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.engine import control
from flowforge_admin.engine.advance import task_finished
from flowforge_admin.engine.transitions import changing
from flowforge_admin.models import Pool, TaskRun
from flowforge_admin.states import RunState, TaskState
from tests import engine_tasks as t

pytestmark = pytest.mark.django_db


def grid_flow(name="grid_search", count=6, retries=0, fail_index=-1):
    return register_task_pipeline(
        name,
        {
            "grid": {"function": t.grid, "params": {"count": count}},
            "train": {
                "function": t.train_one,
                "depends_on": ["grid"],
                "map_over": "grid",
                "retries": retries,
                "params": {"fail_index": fail_index},
            },
            "best": {"function": t.pick_best, "depends_on": ["train"]},
        },
    )


def test_in_process_a_retried_instance_runs_alone_and_the_downstream_gets_every_output(tmp_path):
    run = run_flow(grid_flow(retries=1, fail_index=2), {"marker_dir": str(tmp_path)})

    assert run.status == RunState.SUCCEEDED
    assert sorted((tmp_path / "side_effects.txt").read_text().split("\n"))[1:] == sorted(
        [f"train[{i}] attempt 1" for i in range(6)] + ["train[2] attempt 2"]
    )
    assert run.task_runs.get(task_name="best").output == {
        "received": [{"index": i, "score": i * 2} for i in range(6)]
    }


def test_an_artifact_sequence_is_mapped_over_through_the_signed_store():
    flow = register_task_pipeline(
        "array_map",
        {
            "grid": {"function": t.grid_array},
            "square": {"function": t.square, "depends_on": ["grid"], "map_over": "grid"},
        },
    )
    run = run_flow(flow)

    assert run.status == RunState.SUCCEEDED
    assert run.task_runs.get(task_name="square").output == [0, 100, 400]


def test_instances_whose_outputs_are_artifacts_reach_the_downstream_as_themselves():
    flow = register_task_pipeline(
        "array_outputs",
        {
            "grid": {"function": t.grid_array},
            "scale": {"function": t.scaled_array, "depends_on": ["grid"], "map_over": "grid"},
            "total": {"function": t.total_of, "depends_on": ["scale"]},
        },
    )
    run = run_flow(flow)

    assert run.status == RunState.SUCCEEDED
    # The mapped task's own output holds JSON only: the arrays are files.
    assert run.task_runs.get(task_name="scale").output == [None, None, None]
    assert run.task_runs.get(task_name="total").output == [0, 20, 40]


def page_queries(client, run):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]))
    assert response.status_code == 200
    return response, len(queries)


def test_the_run_page_sums_instances_up_under_their_task_whatever_their_number(admin_client, tmp_path):
    small = run_flow(grid_flow("small", fail_index=4), {"marker_dir": str(tmp_path)})
    large = run_flow(grid_flow("large", count=60, fail_index=4), {"marker_dir": str(tmp_path)})

    page_queries(admin_client, small)  # the session's and the admin's first reads, once
    response, small_queries = page_queries(admin_client, small)
    _, large_queries = page_queries(admin_client, large)

    assert large_queries == small_queries
    graph_queries = []
    for run in (small, large):
        with CaptureQueriesContext(connection) as queries:
            admin_client.get(reverse("admin:flowforge_admin_flowrun_graph_data", args=[run.pk]))
        graph_queries.append(len(queries))
    assert graph_queries[0] == graph_queries[1]
    page = response.content.decode()
    assert "5 of 6 succeeded · 1 failed" in page
    assert f"?run__exact={small.pk}&amp;task_name__startswith=train%5B" in page
    assert "train[0]" not in page  # instances are not rows of the run page
    listed = admin_client.get(
        reverse("admin:flowforge_admin_taskrun_changelist"),
        {"run__exact": large.pk, "task_name__startswith": "train["},
    )
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 60


def instances_page(client, run, task="train", **query):
    url = reverse("admin:flowforge_admin_flowrun_instances", args=[run.pk, task])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, query)
    return response, len(queries)


def test_a_mapped_row_opens_to_its_instances_fifty_a_page_in_constant_queries(admin_client, tmp_path):
    small = run_flow(grid_flow("small", count=3), {"marker_dir": str(tmp_path)})
    large = run_flow(grid_flow("large", count=60, fail_index=55), {"marker_dir": str(tmp_path)})
    page = admin_client.get(reverse("admin:flowforge_admin_flowrun_change", args=[large.pk])).content.decode()
    fragment_url = reverse("admin:flowforge_admin_flowrun_instances", args=[large.pk, "train"])
    assert f'data-fragment="{fragment_url}"' in page
    assert 'id="instances-train"' in page

    instances_page(admin_client, small)  # the session's first reads, once
    _, small_queries = instances_page(admin_client, small)
    first, large_queries = instances_page(admin_client, large)
    second, _ = instances_page(admin_client, large, page=2)

    assert large_queries == small_queries
    assert [row.name for row in first.context["rows"]] == [f"train[{i}]" for i in range(50)]
    assert [row.name for row in second.context["rows"]] == [f"train[{i}]" for i in range(50, 60)]
    text = second.content.decode()
    assert "Instances 51–60 of 60 of train" in text
    failed = large.task_runs.get(task_name="train[55]")
    # Each instance has the actions of any task: here, Retry of the failed one alone.
    assert reverse("admin:flowforge_admin_flowrun_retry", args=[large.pk, failed.pk]) in text
    assert ' id="task-' not in text  # the live view matches the page's own rows by id


def test_an_instance_is_retried_alone_from_its_row(admin_client, tmp_path):
    run = run_flow(grid_flow(count=4, fail_index=1), {"marker_dir": str(tmp_path)})
    failed = run.task_runs.get(task_name="train[1]")

    response = admin_client.post(reverse("admin:flowforge_admin_flowrun_retry", args=[run.pk, failed.pk]))

    assert response.status_code == 302
    statuses = dict(run.task_runs.filter(map_index__isnull=False).values_list("task_name", "status"))
    assert statuses == {
        "train[0]": TaskState.SUCCEEDED,
        "train[1]": TaskState.QUEUED,
        "train[2]": TaskState.SUCCEEDED,
        "train[3]": TaskState.SUCCEEDED,
    }


def test_the_instances_fragment_refuses_what_it_cannot_show(admin_client, client, tmp_path, role_user):
    run = run_flow(grid_flow(count=2), {"marker_dir": str(tmp_path)})

    assert instances_page(admin_client, run, task="grid")[0].status_code == 404  # not mapped
    assert instances_page(admin_client, run, task="nothing")[0].status_code == 404
    assert (
        instances_page(admin_client, run, page="x")[0].status_code == 200
    )  # the first page, as the admin does
    anonymous, _ = instances_page(client, run)
    assert anonymous.status_code == 302  # to the login page
    stakeholder = Client()
    stakeholder.force_login(role_user("Stakeholder"))
    seen, _ = instances_page(stakeholder, run)
    assert seen.status_code == 200
    assert "/retry/" not in seen.content.decode()  # stakeholders look, they do not act


def test_the_run_graph_gives_a_mapped_task_one_node_with_its_count(admin_client, tmp_path):
    run = run_flow(grid_flow(fail_index=1), {"marker_dir": str(tmp_path)})

    data = admin_client.get(reverse("admin:flowforge_admin_flowrun_graph_data", args=[run.pk])).json()

    assert sorted(data["statuses"]) == ["best", "grid", "train"]
    instances = data["statuses"]["train"]["instances"]
    assert (instances["count"], instances["by_status"]) == (6, {"failed": 1, "succeeded": 5})
    pages = reverse("admin:flowforge_admin_flowrun_graph_instances", args=[run.pk])
    assert instances["list_url"] == f"{pages}?task=train&page=1"
    assert admin_client.get(instances["list_url"]).json()["count"] == 6
    assert "instances" not in data["statuses"]["grid"]


def test_a_mapped_task_not_yet_expanded_has_a_count_of_0(admin_client):
    run = launch_flow(grid_flow())  # no worker here: grid stays queued, train has no instances

    data = admin_client.get(reverse("admin:flowforge_admin_flowrun_graph_data", args=[run.pk])).json()

    instances = data["statuses"]["train"]["instances"]
    assert (instances["count"], instances["by_status"]) == (0, {})
    assert admin_client.get(instances["list_url"]).json()["instances"] == []


def test_marking_the_failed_instance_succeeded_lets_its_task_and_downstream_go_on(tmp_path):
    run = run_flow(grid_flow(fail_index=0), {"marker_dir": str(tmp_path)})
    assert run.task_runs.get(task_name="best").status == TaskState.UPSTREAM_FAILED

    control.mark_task(run.task_runs.get(task_name="train[0]"), TaskState.SUCCEEDED, "checked by hand")

    train = run.task_runs.get(task_name="train")
    assert train.status == TaskState.SUCCEEDED
    assert train.output[0] is None  # a marked instance has no output
    assert run.task_runs.get(task_name="best").status == TaskState.QUEUED


def test_clearing_the_mapped_task_replaces_its_instances(tmp_path):
    run = run_flow(grid_flow(count=3), {"marker_dir": str(tmp_path)})
    first = set(TaskRun.objects.filter(run=run, map_index__isnull=False).values_list("pk", flat=True))

    control.clear_tasks(run, ["train"])

    again = dict(TaskRun.objects.filter(run=run, map_index__isnull=False).values_list("pk", "status"))
    assert len(again) == 3
    assert not first & set(again)
    assert set(again.values()) == {TaskState.QUEUED}
    run.refresh_from_db()
    assert run.task_counts()[TaskState.QUEUED] == 3
    assert sum(run.task_counts().values()) == 3 + 3


def test_clearing_an_unknown_instance_names_it_and_changes_nothing(tmp_path):
    from django.core.exceptions import ValidationError

    run = run_flow(grid_flow(count=2), {"marker_dir": str(tmp_path)})
    with pytest.raises(ValidationError, match=r"no task named 'train\[5\]'"):
        control.clear_tasks(run, ["train[5]"])


def test_over_a_low_cap_the_mapped_task_fails_giving_the_count_and_the_cap(settings, tmp_path):
    settings.FLOWFORGE_MAX_MAP_INSTANCES = 3
    run = run_flow(grid_flow(count=4), {"marker_dir": str(tmp_path)})

    train = run.task_runs.get(task_name="train")
    assert (train.status, train.error) == (
        TaskState.FAILED,
        "'grid' gave 4 items to map over, more than FLOWFORGE_MAX_MAP_INSTANCES (3)",
    )
    assert not TaskRun.objects.filter(run=run, map_index__isnull=False).exists()


def test_instances_in_a_pool_of_one_wait_for_its_slot(tmp_path, django_capture_on_commit_callbacks):

    Pool.objects.create(name="one", slots=1)
    flow = register_task_pipeline(
        "pooled",
        {
            "grid": {"function": t.grid, "params": {"count": 3}},
            "train": {"function": t.train_one, "depends_on": ["grid"], "map_over": "grid", "pool": "one"},
        },
    )
    run = launch_flow(flow, {"marker_dir": str(tmp_path)})
    with changing(run.pk) as change:  # grid succeeds (no worker here): the instances are created
        change.move("grid", TaskState.SUCCEEDED, expect=TaskState.QUEUED, output=[{"depth": 1}] * 3)
        task_finished(change, "grid")

    statuses = dict(
        TaskRun.objects.filter(run=run, map_index__isnull=False).values_list("map_index", "status")
    )
    assert sorted(statuses.values()) == [TaskState.PENDING, TaskState.PENDING, TaskState.QUEUED]
    running = next(index for index, status in statuses.items() if status == TaskState.QUEUED)
    revision = run.task_runs.get(task_name="train").revision
    with django_capture_on_commit_callbacks(execute=True), changing(run.pk) as change:
        # That one finishes: its slot goes to the next instance (pools.wake, at commit).
        change.move(f"train[{running}]", TaskState.SUCCEEDED, expect=TaskState.QUEUED)
        task_finished(change, f"train[{running}]")

    statuses = dict(
        TaskRun.objects.filter(run=run, map_index__isnull=False).values_list("map_index", "status")
    )
    assert sorted(statuses.values()) == [TaskState.PENDING, TaskState.QUEUED, TaskState.SUCCEEDED]
    # Its task's row (the run page's summary of its instances) is sent again by the live view.
    assert run.task_runs.get(task_name="train").revision > revision


def test_the_admin_retries_and_clears_an_instance_by_its_task_run(operator_client, tmp_path):
    run = run_flow(grid_flow(fail_index=5), {"marker_dir": str(tmp_path)})
    failed = run.task_runs.get(task_name="train[5]")

    response = operator_client.post(reverse("admin:flowforge_admin_flowrun_retry", args=[run.pk, failed.pk]))

    assert response.status_code == 302
    assert run.task_runs.get(pk=failed.pk).status == TaskState.QUEUED
    assert run.task_runs.get(task_name="train").status == TaskState.RUNNING
    done = run.task_runs.get(task_name="train[1]")
    response = operator_client.post(
        reverse("admin:flowforge_admin_flowrun_clear", args=[run.pk, done.pk]), {"downstream": "1"}
    )
    assert response.status_code == 302
    assert run.task_runs.get(pk=done.pk).status == TaskState.QUEUED
    assert run.task_runs.get(pk=done.pk).attempt == 2


def test_rerunning_a_failed_run_runs_again_only_the_failed_instance(tmp_path):
    run = run_flow(grid_flow(fail_index=2), {"marker_dir": str(tmp_path)})
    before = dict(TaskRun.objects.filter(run=run, map_index__isnull=False).values_list("task_name", "pk"))

    control.rerun_failed(run)

    rows = {
        name: (pk, status, attempt)
        for name, pk, status, attempt in TaskRun.objects.filter(run=run, map_index__isnull=False).values_list(
            "task_name", "pk", "status", "attempt"
        )
    }
    assert {name: pk for name, (pk, _, _) in rows.items()} == before  # the same instances
    assert rows["train[2]"][1:] == (TaskState.QUEUED, 2)
    assert {rows[f"train[{i}]"][1:] for i in (0, 1, 3, 4, 5)} == {(TaskState.SUCCEEDED, 1)}
    statuses = dict(run.task_runs.filter(task_name__in=["train", "best"]).values_list("task_name", "status"))
    assert statuses == {"train": TaskState.RUNNING, "best": TaskState.PENDING}


def test_an_instances_log_page_has_its_retry_and_clear_buttons(operator_client, role_user, tmp_path):
    run = run_flow(grid_flow(fail_index=1), {"marker_dir": str(tmp_path)})
    failed = run.task_runs.get(task_name="train[1]")
    log_url = reverse("admin:flowforge_admin_taskrun_log", args=[failed.pk])
    retry_url = reverse("admin:flowforge_admin_flowrun_retry", args=[run.pk, failed.pk])

    page = operator_client.get(log_url).content.decode()
    assert f'action="{retry_url}"' in page
    assert "Clear this instance" in page
    stakeholder = Client()  # operator_client is the client fixture: another one for a second user
    stakeholder.force_login(role_user("Stakeholder"))
    assert retry_url not in stakeholder.get(log_url).content.decode()


def test_the_grid_and_the_run_comparison_show_a_mapped_task_as_one_row(admin_client, tmp_path):
    from flowforge_admin.admin.grid import task_statuses
    from flowforge_admin.admin.run_comparison import task_lines

    flow = grid_flow(count=4)
    runs = [run_flow(flow, {"marker_dir": str(tmp_path)}) for _ in range(2)]

    assert {name for _, name, _ in task_statuses(runs)} == {"grid", "train", "best"}
    assert admin_client.get(reverse("admin:flowforge_admin_flow_change", args=[flow.pk])).status_code == 200
    lines = task_lines(runs)
    assert sorted(line.name for line in lines) == ["best", "grid", "train"]
