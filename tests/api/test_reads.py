"""Reading through the API: flows, runs with the admin's filters, task runs, logs, metrics and artifacts."""

import datetime
import pickle
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flowforge_admin import api
from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import FlowRun, Metric, RunEvent

from .. import data_tasks
from .. import engine_tasks as t
from ..artifact_rows import FILE_BYTES, add_artifact, outputs_flow, with_outputs
from .conftest import url

pytestmark = pytest.mark.django_db


def count_queries(client, path):
    """Queries of one GET of ``path``, once the token's last use is recorded (at most once a minute)."""
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries)


def test_the_flow_list_reads_each_flows_tasks_and_newest_run_in_one_query(stakeholder_api, flow, failed_run):
    newest = api.launch_flow(flow)
    register_task_pipeline("another", {"a": {"function": t.echo}})

    body = stakeholder_api.get(url("api-flow-list")).json()

    assert body["count"] == 2
    assert [item["name"] for item in body["results"]] == ["another", "api_flow"]
    item = body["results"][1]
    assert item["title"] == "API flow"
    assert (item["paused"], item["task_count"]) == (False, 2)
    assert item["last_run"]["id"] == newest.pk
    assert item["last_run"]["status"] == "queued"
    assert body["results"][0]["last_run"] is None
    assert item["admin_url"].startswith("http://testserver/admin/flowforge_admin/flow/")
    few = count_queries(stakeholder_api, url("api-flow-list"))
    for number in range(5):
        api.launch_flow(
            register_task_pipeline(f"more_{number}", {"a": {"function": t.echo}, "b": {"function": t.echo}})
        )
    assert count_queries(stakeholder_api, url("api-flow-list")) == few


def test_a_flow_shows_its_tasks_dependencies_schema_and_graph(stakeholder_api, flow):
    body = stakeholder_api.get(url("api-flow-detail", flow.name)).json()

    assert [(task["name"], task["depends_on"]) for task in body["tasks"]] == [("ok", []), ("bad", ["ok"])]
    assert body["params"] == {"size": 3}
    assert body["graph"]["view"] == "flow"
    assert len(body["graph"]["tasks"]) == 2
    assert stakeholder_api.get(url("api-flow-detail", "nope")).status_code == 404


@pytest.mark.parametrize("file_format", ["yaml", "json"])
def test_the_definition_is_the_file_export_flows_writes(stakeholder_api, flow, file_format):
    out = StringIO()
    call_command("export_flows", flow.name, "--format", file_format, stdout=out)

    response = stakeholder_api.get(url("api-flow-definition", flow.name, query=f"file_format={file_format}"))

    assert response.status_code == 200
    assert response.content.decode() == out.getvalue()
    assert (
        stakeholder_api.get(url("api-flow-definition", flow.name, query="file_format=xls")).status_code == 400
    )


def test_the_run_list_filters_as_the_admins_and_pages_in_a_stable_order(stakeholder_api, flow, failed_run):
    other = register_task_pipeline("other", {"a": {"function": t.echo}})
    queued = [api.launch_flow(other) for _ in range(3)]
    FlowRun.objects.filter(pk=queued[0].pk).update(logical_date=timezone.now() - datetime.timedelta(days=3))

    def ids(query=""):
        response = stakeholder_api.get(url("api-run-list", query=query))
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    newest_first = [run.pk for run in reversed(queued)] + [failed_run.pk]
    assert ids() == newest_first
    assert ids("flow=other") == newest_first[:3]
    assert ids("status=failed") == [failed_run.pk]
    assert ids("trigger=code&status=queued") == newest_first[:3]
    assert ids(f"q=%23{failed_run.pk}") == [failed_run.pk]
    assert ids("q=api_") == [failed_run.pk]
    yesterday = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert ids(f"logical_date_before={yesterday.replace('+', '%2B')}") == [queued[0].pk]
    assert ids(f"created_after={yesterday.replace('+', '%2B')}") == newest_first
    assert ids("logical_order=oldest")[0] == queued[0].pk
    # Pages: two by two, each run once.
    pages = [ids(f"page_size=2&page={page}") for page in (1, 2)]
    assert pages == [newest_first[:2], newest_first[2:]]
    bad = stakeholder_api.get(url("api-run-list", query="status=done"))
    assert bad.status_code == 400
    assert "status" in bad.json()


def test_the_run_list_reads_no_row_per_run(stakeholder_api, flow, failed_run, operator_api):
    operator_api.post(url("api-flow-launch", flow.name), {"params": {}}, format="json")  # triggered by a user
    few = count_queries(stakeholder_api, url("api-run-list"))
    for _ in range(5):
        operator_api.post(url("api-flow-launch", flow.name), {"params": {}}, format="json")
    assert count_queries(stakeholder_api, url("api-run-list")) == few


def test_page_size_is_50_by_default_and_500_at_most(stakeholder_api, db):
    flows = [register_task_pipeline(f"f{number:03d}", {"a": {"function": t.echo}}) for number in range(51)]

    body = stakeholder_api.get(url("api-flow-list")).json()
    assert (body["count"], len(body["results"])) == (51, 50)
    assert body["next"].endswith("?page=2")
    assert len(stakeholder_api.get(url("api-flow-list", query="page_size=1000")).json()["results"]) == len(
        flows
    )


def test_a_run_shows_its_task_runs_and_counts_in_the_one_vocabulary(stakeholder_api, failed_run):
    body = stakeholder_api.get(url("api-run-detail", failed_run.pk)).json()

    assert body["status"] == "failed"
    assert body["is_finished"] is True
    assert {task["task"]: task["status"] for task in body["tasks"]} == {"ok": "succeeded", "bad": "failed"}
    assert body["task_counts"] == {**dict.fromkeys(body["task_counts"], 0), "succeeded": 1, "failed": 1}
    task = stakeholder_api.get(url("api-task-detail", failed_run.pk, "bad")).json()
    assert "RuntimeError: boom" in task["traceback"]
    assert task["artifact"] is None
    assert stakeholder_api.get(url("api-task-detail", failed_run.pk, "ok")).json()["output"]["kwargs"] == {
        "size": 3
    }
    assert stakeholder_api.get(url("api-run-detail", 999999)).status_code == 404


@pytest.fixture
def talky_run(db):
    flow = register_task_pipeline(
        "talky", {"talk": {"function": t.talk, "params": {"lines": 5, "seconds": 0}}}
    )
    return api.run_flow(flow)


def test_log_lines_page_by_keyset_with_the_log_pages_filters(stakeholder_api, talky_run):
    logs = url("api-task-logs", talky_run.pk, "talk")

    whole = stakeholder_api.get(logs, {"after": 0, "page_size": 500}).json()
    messages = [line["message"] for line in whole["lines"]]
    assert "talk log line 0" in messages
    assert "talk print line 4" in messages
    assert (whole["attempt"], whole["finished"], whole["previous"], whole["next"]) == (1, True, None, None)

    first = stakeholder_api.get(logs, {"after": 0, "page_size": 4}).json()
    assert [line["id"] for line in first["lines"]] == [line["id"] for line in whole["lines"][:4]]
    second = stakeholder_api.get(first["next"]).json()
    assert [line["id"] for line in second["lines"]] == [line["id"] for line in whole["lines"][4:8]]
    newest = stakeholder_api.get(logs, {"page_size": 4}).json()
    assert [line["id"] for line in newest["lines"]] == [line["id"] for line in whole["lines"][-4:]]
    assert newest["next"] is None
    assert "before=" in newest["previous"]

    found = stakeholder_api.get(logs, {"q": "LINE 3"}).json()["lines"]
    assert sorted(line["message"] for line in found) == ["talk log line 3", "talk print line 3"]
    warnings = stakeholder_api.get(logs, {"level": "WARNING"}).json()["lines"]
    assert warnings
    assert all(line["level_number"] >= 30 for line in warnings)
    assert stakeholder_api.get(logs, {"attempt": 2}).status_code == 404
    assert stakeholder_api.get(logs, {"level": "LOUD"}).status_code == 400
    assert stakeholder_api.get(logs, {"before": 5, "after": 1}).status_code == 400


def test_the_log_downloads_whole_as_text(stakeholder_api, talky_run):
    response = stakeholder_api.get(url("api-task-logs-download", talky_run.pk, "talk"), {"level": "ERROR"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert f'filename="talky-run{talky_run.pk}-talk-attempt1.log"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    assert "INFO tests.engine_tasks talk log line 0" in text
    assert "talk print line 4" in text


def test_metrics_of_a_run_in_a_stable_order(stakeholder_api, failed_run):
    ok = failed_run.task_runs.get(task_name="ok")
    for step, value in [(1, 0.5), (0, 0.9), (None, None)]:
        Metric.objects.create(run=failed_run, task_run=ok, attempt=1, name="loss", value=value, step=step)

    body = stakeholder_api.get(url("api-run-metrics", failed_run.pk)).json()

    assert [(m["task"], m["name"], m["step"], m["value"]) for m in body["results"]] == [
        ("ok", "loss", None, None),
        ("ok", "loss", 0, 0.9),
        ("ok", "loss", 1, 0.5),
    ]


def test_artifacts_are_described_and_their_files_stream_as_stored_never_loaded(stakeholder_api, tmp_path):
    run = with_outputs(outputs_flow())
    tripwire = run.task_runs.get(task_name="make_json")
    # A pickle that would write a file if anything loaded it.
    add_artifact(
        tripwire,
        "Tripwire",
        {"kind": "repr", "text": "Tripwire"},
        100,
        ".pickle",
        content=pickle.dumps(data_tasks.make_tripwire(str(tmp_path / "tripped"))),
    )

    body = stakeholder_api.get(url("api-run-artifacts", run.pk)).json()

    assert {item["task"]: item["type_name"] for item in body["results"]} == {
        "make_array": "numpy.ndarray",
        "make_frame": "pandas.DataFrame",
        "make_pair": "tuple",
        "make_model": "LinearModel",
        "make_json": "Tripwire",
    }
    by_task = {item["task"]: item for item in body["results"]}
    assert by_task["make_frame"]["preview"]["columns"] == ["city", "count", "ratio"]
    download = stakeholder_api.get(by_task["make_array"]["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == FILE_BYTES
    assert download["Content-Type"] == "application/octet-stream"
    tripped = stakeholder_api.get(by_task["make_json"]["download_url"])
    assert b"".join(tripped.streaming_content) == pickle.dumps(
        data_tasks.make_tripwire(str(tmp_path / "tripped"))
    )
    assert not (tmp_path / "tripped").exists()
    # Each download is in the run's history, as the admin's.
    assert RunEvent.objects.filter(run=run, action=RunEvent.Action.DOWNLOAD_ARTIFACT).count() == 2


def test_the_task_metric_and_artifact_lists_read_no_row_per_item(stakeholder_api):
    run = with_outputs(outputs_flow())
    make_json = run.task_runs.get(task_name="make_json")
    Metric.objects.create(run=run, task_run=make_json, attempt=1, name="loss", value=1.0)
    lists = [url("api-task-list", run.pk), url("api-run-metrics", run.pk), url("api-run-artifacts", run.pk)]
    few = [count_queries(stakeholder_api, path) for path in lists]

    add_artifact(make_json, "Model", {"kind": "repr", "text": "Model()"}, 10)
    for task_run in run.task_runs.all():
        for step in range(3):
            Metric.objects.create(run=run, task_run=task_run, attempt=1, name="loss", value=0.5, step=step)

    assert [count_queries(stakeholder_api, path) for path in lists] == few


def test_bad_ids_and_pages_answer_404_never_500(stakeholder_api, failed_run):
    huge = "9" * 25
    for path in [
        f"/api/v1/runs/{huge}/",
        f"/api/v1/runs/{huge}/tasks/",
        f"/api/v1/runs/{huge}/metrics/",
        url("api-task-detail", failed_run.pk, "no-such-task"),
        url("api-task-artifact", failed_run.pk, "ok", query=f"attempt={huge}"),
        url("api-task-artifact", failed_run.pk, "ok", query="attempt=x"),
        url("api-run-list", query="page=999"),
        url("api-run-list", query="page=x"),
    ]:
        assert stakeholder_api.get(path).status_code == 404, path
    assert stakeholder_api.get(url("api-run-list", query=f"q={huge}")).json()["count"] == 0
    assert stakeholder_api.get(url("api-run-list", query="page_size=x")).status_code == 200
