"""The log page and the output views show an earlier attempt's outcome once a later attempt replaced it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.api import clear_tasks, register_task_pipeline, run_flow
from flowforge_admin.artifacts.storage import get_storage
from flowforge_admin.engine.local import run_in_process
from flowforge_admin.models import RunEvent
from flowforge_admin.states import TaskState

from .. import data_tasks as d
from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def artifact_root(tmp_path, settings):
    settings.FLOWFORGE_ARTIFACT_ROOT = tmp_path / "artifacts"


def log_page(client, task_run, attempt=None):
    url = reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk])
    page = client.get(url, {"attempt": attempt} if attempt else {})
    assert page.status_code == 200
    return page


def artifact_url(task_run, attempt=None):
    url = reverse("admin:flowforge_admin_flowrun_artifact", args=[task_run.run_id, task_run.pk])
    return f"{url}?attempt={attempt}" if attempt else url


def cleared(run, names):
    """Clear ``names`` (with downstream) and run them again here; return the run."""

    def clear():
        clear_tasks(run, names)
        return run

    return run_in_process(clear)


@pytest.fixture
def chain(tmp_path):
    """a -> b -> c, run, then b cleared with its downstream: b and c are on attempt 2."""
    flow = register_task_pipeline(
        "outcome_chain",
        {
            "a": {"function": t.work},
            "b": {"function": t.work, "depends_on": ["a"]},
            "c": {"function": t.work, "depends_on": ["b"]},
        },
    )
    run = run_flow(flow, {"marker_dir": str(tmp_path)})
    first = dict(run.task_runs.values_list("task_name", "output"))
    run = cleared(run, ["b"])
    return run, first


def test_after_a_clear_the_log_page_shows_each_attempts_own_output(admin_client, chain):
    run, first = chain
    c = run.task_runs.get(task_name="c")
    assert c.attempt == 2
    earlier = log_page(admin_client, c, 1)
    outcome = earlier.context["outcome"]
    assert (outcome.recorded, outcome.status, outcome.output.preview["value"]) == (
        True,
        TaskState.SUCCEEDED,
        first["c"],
    )
    assert "Output of attempt 1" in earlier.text
    assert "Attempt 1 was replaced by attempt 2: what it produced is kept here." in earlier.text
    assert earlier.context["follow"] is False
    current = log_page(admin_client, c, 2)
    assert current.context["outcome"].recorded is False
    assert current.context["output"].preview["value"] == c.output
    assert current.context["output"].preview["value"]["attempt"] == 2
    assert "replaced" not in current.text
    # Each attempt's tab carries its status.
    tabs = current.text[current.text.index('class="ff-log-attempts"') :]
    assert tabs.index("Attempt 1") < tabs.index("ff-status-succeeded") < tabs.index("Attempt 2")


def test_a_retry_keeps_the_failed_attempts_error_and_traceback_on_its_tab(admin_client, tmp_path):
    flow = register_task_pipeline("outcome_retry", {"flaky": {"function": t.fail_first, "retries": 1}})
    task_run = run_flow(flow, {"marker_dir": str(tmp_path)}).task_runs.get()
    failed = log_page(admin_client, task_run, 1)
    assert "Error of attempt 1" in failed.text
    assert '<pre class="ff-log-error-message">ValueError: attempt 1 fails on purpose</pre>' in failed.text
    assert '<details class="ff-traceback"><summary>traceback</summary><pre>Traceback' in failed.text
    assert '<dd data-ff-status><span class="ff-status ff-status-failed">' in failed.text
    succeeded = log_page(admin_client, task_run, 2)
    assert "ff-log-error-message" not in succeeded.text
    assert '<dd data-ff-status><span class="ff-status ff-status-succeeded">' in succeeded.text


def test_the_current_failed_attempt_shows_its_error(admin_client):
    flow = register_task_pipeline("outcome_failed", {"bad": {"function": t.fail}})
    task_run = run_flow(flow).task_runs.get()
    page = log_page(admin_client, task_run)
    assert '<pre class="ff-log-error-message">RuntimeError: boom</pre>' in page.text
    assert "ff-log-earlier" not in page.text


def test_an_earlier_attempt_page_reads_a_constant_number_of_queries(admin_client, chain):
    run, _first = chain
    c = run.task_runs.get(task_name="c")
    with CaptureQueriesContext(connection) as earlier:
        log_page(admin_client, c, 1)
    with CaptureQueriesContext(connection) as current:
        log_page(admin_client, c, 2)
    # The attempt record (with its artifact, one join) instead of the task run's output.
    assert len(earlier) <= len(current)


@pytest.fixture
def model_cleared(django_capture_on_commit_callbacks):
    """A task whose output is an artifact, run, then cleared: attempt 1's file is kept."""
    flow = register_task_pipeline("outcome_model", {"make": {"function": d.model}})
    run = run_flow(flow)
    first = run.task_runs.select_related("artifact").get().artifact
    with django_capture_on_commit_callbacks(execute=True):
        run = cleared(run, ["make"])
    return run, first


def test_an_earlier_attempts_artifact_is_shown_and_downloaded(admin_client, model_cleared):
    run, first = model_cleared
    task_run = run.task_runs.select_related("artifact").get()
    assert task_run.artifact.path != first.path
    page = log_page(admin_client, task_run, 1)
    assert page.context["output"].artifact.pk == first.pk
    assert f'href="{artifact_url(task_run, 1)}"' in page.text.replace("&amp;", "&")
    response = admin_client.get(artifact_url(task_run, 1))
    assert response.status_code == 200
    with get_storage().open(first.path, "rb") as file:
        assert b"".join(response.streaming_content) == file.read()
    assert "-attempt1.pickle" in response["Content-Disposition"]
    assert RunEvent.objects.filter(
        run=run, action=RunEvent.Action.DOWNLOAD_ARTIFACT, message__contains="task make, attempt 1 ("
    ).exists()
    # The current attempt's file, asked for by its number or without one.
    for asked in (None, 2):
        response = admin_client.get(artifact_url(task_run, asked))
        with get_storage().open(task_run.artifact.path, "rb") as file:
            assert b"".join(response.streaming_content) == file.read()


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("x", "Task make has no attempt “x” (attempts 1 to 2)."),
        ("0", "Task make has no attempt “0” (attempts 1 to 2)."),
        ("3", "Task make has no attempt “3” (attempts 1 to 2)."),
    ],
)
def test_a_bad_attempt_answers_404_naming_it(admin_client, model_cleared, asked, message):
    run, _first = model_cleared
    response = admin_client.get(artifact_url(run.task_runs.get(), asked))
    assert response.status_code == 404
    assert message in response.text


def test_the_whole_json_output_of_an_earlier_attempt(admin_client, chain):
    run, first = chain
    b = run.task_runs.get(task_name="b")
    url = reverse("admin:flowforge_admin_flowrun_output", args=[run.pk, b.pk])
    assert admin_client.get(url, {"attempt": 1}).json() == first["b"]
    assert admin_client.get(url).json() == b.output
    assert admin_client.get(url, {"attempt": 5}).status_code == 404


def test_an_attempt_replaced_before_attempts_were_recorded_says_so(admin_client, chain):
    """Only its log is left: the page says so, and shows no status rather than the task run's."""
    run, _first = chain
    c = run.task_runs.get(task_name="c")
    c.attempts.all().delete()
    page = log_page(admin_client, c, 1)
    assert page.context["outcome"] is None
    assert "The outcome of attempt 1 was not kept" in page.text
    assert "<dd data-ff-status>—</dd>" in page.text
