"""Task outputs in the admin: previews on the run page, the log page and the graph; the audited download."""

import json
import logging

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.admin import outputs
from flowforge_admin.admin.task_pages import TASKS_PER_PAGE
from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.artifacts.storage import get_storage
from flowforge_admin.models import Artifact, RunEvent, TaskRun

from .. import engine_tasks as t
from ..artifact_rows import ARRAY, FILE_BYTES, JSON_OUTPUT, add_artifact, outputs_flow, with_outputs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def artifact_root(tmp_path, settings):
    """Artifact files under the test's own directory, never in the checkout."""
    settings.FLOWFORGE_ARTIFACT_ROOT = tmp_path / "artifacts"
    return settings.FLOWFORGE_ARTIFACT_ROOT


@pytest.fixture
def run():
    return with_outputs(outputs_flow())


def task_run_of(run, name):
    return run.task_runs.get(task_name=name)


def page_url(run):
    return reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])


def log_url(task_run):
    return reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk])


def download_url(task_run):
    return reverse("admin:flowforge_admin_flowrun_artifact", args=[task_run.run_id, task_run.pk])


def preview_url(task_run):
    return reverse("admin:flowforge_admin_flowrun_output_preview", args=[task_run.run_id, task_run.pk])


# What each kind of output shows ---------------------------------------------------------

# Seen on both the run page and the log page, for each task (as HTML).
EXPECTED = {
    "make_json": [
        f"<code>dict</code> · {len(json.dumps(JSON_OUTPUT, separators=(',', ':')))} bytes",
        '<span class="ff-tree-key">model</span>',
        '<span class="ff-tree-key">rows</span>: <span class="ff-tree-num">3</span>',
        '<span class="ff-tree-count">2 items</span>',
    ],
    "make_array": [
        "<code>numpy.<wbr>ndarray</code> · 7.6 MB",
        "shape <code>1000 × 3</code>",
        "dtype <code>float64</code>",
        "[0.5, 1.25, 2.0, nan, inf, 0, 1,",
        "… 2980 more]",
    ],
    "make_frame": [
        "<code>pandas.<wbr>DataFrame</code> · 12.1 KB",
        "shape <code>500 × 3</code>",
        'city<br><span class="ff-output-dtype">object</span>',
        "<td>Paris</td><td>3</td><td>0.5</td>",
        "<td>&lt;b&gt;Nice&lt;/b&gt;</td>",
        "… 497 more rows",
    ],
    "make_pair": [
        "<code>tuple</code> · 300 bytes",
        "<code>tuple</code> of 2 items",
        "shape <code>2</code>",
        "[7, 8]",
        "LinearModel(weights=[0.5, 1.5], bias=0.1) &lt;script&gt;",
    ],
    "make_model": [
        "<code>LinearModel</code> · 2.0 KB",
        '<pre class="ff-output-text">LinearModel(weights=[0.5, 1.5], bias=0.1) &lt;script&gt;x&lt;/script&gt;</pre>',
    ],
}


def row_html(text, name):
    """The task table's row of ``name`` (up to the next row, or the table's end)."""
    start = text.index(f'<tr id="task-{name}"')
    ends = [text.find(mark, start + 1) for mark in ('<tr id="task-', "</tbody>\n</table>")]
    return text[start : min(end for end in ends if end > 0)]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_kind_of_output_shows_its_type_size_and_preview_on_the_run_page(admin_client, run, name):
    html = row_html(admin_client.get(page_url(run)).text, name)
    for expected in EXPECTED[name]:
        assert expected in html
    link = f'href="{download_url(task_run_of(run, name))}"'
    assert (link in html) is (name != "make_json")  # a JSON output has no file to download


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_kind_of_output_shows_on_the_task_runs_log_page(admin_client, run, name):
    task_run = task_run_of(run, name)
    html = admin_client.get(log_url(task_run)).text
    section = html[html.index('<section class="module ff-log-output"') :]
    section = section[: section.index("</section>")]
    for expected in EXPECTED[name]:
        assert expected in section
    assert (download_url(task_run) in section) is (name != "make_json")


def test_a_task_without_output_has_no_output_section(admin_client):
    run = launch_flow(register_task_pipeline("quiet", {"a": {"function": t.echo}}))
    task_run = task_run_of(run, "a")
    assert "ff-log-output" not in admin_client.get(log_url(task_run)).text
    assert "ff-output" not in row_html(admin_client.get(page_url(run)).text, "a")


def test_the_graph_polls_type_and_size_and_the_panel_fetches_the_preview(admin_client, run):
    data_url = reverse("admin:flowforge_admin_flowrun_graph_data", args=[run.pk])
    statuses = admin_client.get(data_url, {"statuses": 1}).json()["statuses"]
    array = task_run_of(run, "make_array")
    assert statuses["make_array"]["output"] == {
        "type": "numpy.ndarray",
        "size": "7.6 MB",
        "preview_url": preview_url(array),
    }
    assert statuses["make_json"]["output"]["type"] == "dict"
    assert "Paris" not in str(statuses)  # previews are not polled
    answer = admin_client.get(statuses["make_frame"]["output"]["preview_url"]).json()["output"]
    assert (answer["type"], answer["size"], answer["kind"]) == ("pandas.DataFrame", "12.1 KB", "dataframe")
    assert "<td>Paris</td>" in answer["html"]
    assert answer["download_url"] == download_url(task_run_of(run, "make_frame"))
    assert "ff-output-compact" in answer["html"]


def test_the_panels_json_preview_is_short_pretty_text(admin_client, run):
    answer = admin_client.get(preview_url(task_run_of(run, "make_json"))).json()["output"]
    assert answer["download_url"] is None
    assert "&quot;rows&quot;: 3" in answer["html"]


def test_a_long_json_output_links_to_the_whole_from_the_page_and_the_panel(admin_client):
    run = launch_flow(register_task_pipeline("long", {"a": {"function": t.echo}}))
    run.task_runs.update(output={"values": list(range(500))})
    task_run = task_run_of(run, "a")
    whole = reverse("admin:flowforge_admin_flowrun_output", args=[run.pk, task_run.pk])
    row = row_html(admin_client.get(page_url(run)).text, "a")
    assert f"… {500 - outputs.TREE_ITEMS} more" in row
    assert f'href="{whole}"' in row
    panel = admin_client.get(preview_url(task_run)).json()["output"]["html"]
    assert f'href="{whole}"' in panel
    assert admin_client.get(whole).json() == {"values": list(range(500))}


def test_the_panel_shows_a_few_values_of_an_array(admin_client, run):
    html = admin_client.get(preview_url(task_run_of(run, "make_array"))).json()["output"]["html"]
    assert "[0.5, 1.25, 2.0, nan, inf, 0, 1, 2, 3, 4, … 2990 more]" in html


# The JSON tree is bounded ------------------------------------------------------------


def test_a_long_list_is_cut_with_how_many_more():
    tree = outputs.Tree()
    html = tree.html(list(range(100)))
    assert tree.cut
    assert f"… {100 - outputs.TREE_ITEMS} more" in html
    assert html.count("<li>") == outputs.TREE_ITEMS


def test_a_deep_structure_stops_opening_at_the_depth_limit():
    value = current = {}
    for _ in range(20):
        current["next"] = current = {}
    tree = outputs.Tree()
    html = tree.html(value)
    assert tree.cut
    assert html.count("<details") == outputs.TREE_DEPTH


def test_a_wide_and_deep_structure_stays_within_the_node_budget():
    value = {f"k{i}": {f"j{j}": list(range(5)) for j in range(10)} for i in range(15)}
    html = outputs.Tree().html(value)
    assert html.count("<li") <= outputs.TREE_NODES + outputs.TREE_DEPTH * 2 + 15
    assert "more" in html


def test_a_small_value_is_whole_and_not_linked_to_the_whole_view(admin_client, run):
    summary = outputs.summarize(task_run_of(run, "make_json"))
    assert summary.whole_url is None
    assert summary.size == len(b'{"model":{"name":"linear","scores":[0.9,0.8]},"rows":3}')


@pytest.mark.parametrize(
    "preview",
    [
        {},
        {"kind": "array"},
        {"kind": "dataframe", "rows": [["1"]]},
        {"kind": "sequence"},
        {"kind": "what"},
        [],
    ],
)
def test_an_odd_preview_never_breaks_the_page(admin_client, preview):
    run = launch_flow(register_task_pipeline("odd", {"a": {"function": t.echo}}))
    add_artifact(task_run_of(run, "a"), "object", preview, 10)
    assert admin_client.get(page_url(run)).status_code == 200
    assert admin_client.get(log_url(task_run_of(run, "a"))).status_code == 200


# The download ---------------------------------------------------------------------------


def test_a_stakeholder_downloads_the_file_and_the_download_is_audited(stakeholder_client, run, caplog):
    task_run = task_run_of(run, "make_array")
    with caplog.at_level(logging.INFO, logger="flowforge_admin.audit"):
        response = stakeholder_client.get(download_url(task_run))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == FILE_BYTES
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Length"] == str(len(FILE_BYTES))
    assert response["Content-Disposition"] == f'attachment; filename="outputs-{run.pk}-make_array.npy"'
    event = RunEvent.objects.get(run=run, action=RunEvent.Action.DOWNLOAD_ARTIFACT)
    assert event.user.username == "stakeholder"
    assert event.message == "Downloaded the output of task make_array (numpy.ndarray, 7.6 MB)."
    assert [record.getMessage() for record in caplog.records if record.name == "flowforge_admin.audit"] == [
        f"{event.message} (run #{run.pk}, user stakeholder)"
    ]
    # The run's History shows it.
    assert event.message in stakeholder_client.get(page_url(run)).text


def test_a_user_without_view_permission_on_runs_gets_403_and_nothing_is_recorded(client, run):
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    task_run = task_run_of(run, "make_array")
    assert client.get(download_url(task_run)).status_code == 403
    assert client.get(preview_url(task_run)).status_code == 403
    assert not RunEvent.objects.filter(action=RunEvent.Action.DOWNLOAD_ARTIFACT).exists()


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, run):
    url = download_url(task_run_of(run, "make_array"))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_task_without_an_artifact_answers_404_with_a_message(admin_client, run):
    response = admin_client.get(download_url(task_run_of(run, "make_json")))
    assert response.status_code == 404
    assert "Task make_json of this run has no stored output file to download." in response.text
    assert not RunEvent.objects.filter(action=RunEvent.Action.DOWNLOAD_ARTIFACT).exists()


def test_a_missing_file_answers_404_with_a_message(admin_client, run):
    task_run = task_run_of(run, "make_frame")
    get_storage().delete(Artifact.objects.get(task_run=task_run).path)
    response = admin_client.get(download_url(task_run))
    assert response.status_code == 404
    assert "The output file of task make_frame is missing from the artifact storage." in response.text
    assert not RunEvent.objects.filter(action=RunEvent.Action.DOWNLOAD_ARTIFACT).exists()


def test_the_task_run_of_another_run_is_not_found(admin_client, run):
    other = with_outputs(outputs_flow("other"))
    url = reverse(
        "admin:flowforge_admin_flowrun_artifact", args=[run.pk, task_run_of(other, "make_array").pk]
    )
    assert admin_client.get(url).status_code == 404


def test_the_download_is_get_only(admin_client, run):
    assert admin_client.post(download_url(task_run_of(run, "make_array"))).status_code == 405


# Queries ----------------------------------------------------------------------------------


def run_with_artifacts(name, count):
    """A run of ``count`` tasks, each with an artifact (rows written in bulk)."""
    run = launch_flow(register_task_pipeline(name, {f"t{i}": {"function": t.echo} for i in range(count)}))
    TaskRun.objects.filter(run=run).update(status="succeeded", attempt=1)
    Artifact.objects.bulk_create(
        Artifact(
            task_run_id=pk,
            attempt=1,
            path=f"runs/{run.pk}/{pk}.npy",
            serializer="npy",
            type_name="numpy.ndarray",
            size=1024 * pk,
            signature="0" * 64,
            preview=ARRAY,
        )
        for pk in run.task_runs.values_list("pk", flat=True)
    )
    return run


def count_queries(client, url, query=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query or {})
    assert response.status_code == 200
    return len(captured), response


def test_the_run_page_takes_as_many_queries_for_1000_artifacts_as_for_5(admin_client):
    small, large = run_with_artifacts("small", 5), run_with_artifacts("large", 1000)
    counted = {}
    for run in (small, large):
        admin_client.get(page_url(run))  # the first look at a run reads its snapshot, once per process
        page, response = count_queries(admin_client, page_url(run), {"tasks": 2} if run is large else {})
        live, answer = count_queries(
            admin_client, reverse("admin:flowforge_admin_flowrun_live", args=[run.pk])
        )
        counted[run.pk] = (page, live)
        shown = min(TASKS_PER_PAGE, run.task_runs.count())
        assert response.text.count("numpy.<wbr>ndarray</code> · ") == shown
        assert answer.json()["html"]["tasks"].count("shape <code>1000 × 3</code>") == shown
    assert counted[small.pk] == counted[large.pk]


def test_the_log_page_reads_the_output_in_one_query(admin_client, run):
    task_run = task_run_of(run, "make_frame")
    admin_client.get(log_url(task_run))
    with_output, _ = count_queries(admin_client, log_url(task_run))
    quiet = launch_flow(register_task_pipeline("quiet", {"a": {"function": t.echo}}))
    without, _ = count_queries(admin_client, log_url(task_run_of(quiet, "a")))
    assert with_output == without
