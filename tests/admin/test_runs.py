"""The run list and the run page: what they show, and in how many queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flowforge_admin.admin.outputs import TREE_TEXT
from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.engine.snapshot import Snapshot
from flowforge_admin.models import FlowRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return register_task_pipeline(
        "recorded", {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}}
    )


def page_url(run):
    return reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])


def queries_for(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_run_list_takes_the_same_queries_for_3_and_30_runs(admin_client, flow):
    url = reverse("admin:flowforge_admin_flowrun_changelist")
    for _ in range(3):
        run_flow(flow)
    few = queries_for(admin_client, url)
    for _ in range(27):
        run_flow(flow)
    assert queries_for(admin_client, url) == few


def test_run_list_shows_status_trigger_and_task_counts(admin_client, admin_user, flow):
    run_flow(flow)
    launch_flow(flow, triggered_by=admin_user)
    text = admin_client.get(reverse("admin:flowforge_admin_flowrun_changelist")).text
    assert '<span class="ff-status ff-status-failed">failed</span>' in text
    assert '<span class="ff-status ff-status-queued">queued</span>' in text
    assert '<td class="field-trigger">admin</td>' in text
    assert '<td class="field-trigger">code</td>' in text
    # 1 succeeded / 1 failed, the failed count flagged
    assert '<span class="ff-count-ok">1</span> / <span class="ff-count-bad">1</span>' in text


@pytest.mark.parametrize(
    "query",
    ["status__exact=failed", "triggered_by__exact=user", "q=recorded", "created_at__year=2026", "o=-6"],
)
def test_run_list_filters_search_and_sorting_answer(admin_client, flow, query):
    run_flow(flow)
    response = admin_client.get(reverse("admin:flowforge_admin_flowrun_changelist") + "?" + query)
    assert response.status_code == 200


def test_run_list_filter_by_status_keeps_only_those_runs(admin_client, flow):
    failed = run_flow(flow)
    queued = launch_flow(flow)
    response = admin_client.get(reverse("admin:flowforge_admin_flowrun_changelist") + "?status__exact=queued")
    shown = [run.pk for run in response.context["cl"].result_list]
    assert shown == [queued.pk]
    assert failed.pk not in shown


def test_run_page_shows_status_counts_error_and_traceback(stakeholder_client, flow):
    run = run_flow(flow)
    page = stakeholder_client.get(page_url(run))
    assert page.status_code == 200
    text = page.text
    assert 'id="task-ok"' in text
    assert 'id="task-bad"' in text
    assert "RuntimeError: boom" in text
    assert 'class="ff-traceback"' in text
    assert "Traceback (most recent call last)" in text
    counts = page.context["run"].task_counts()
    assert counts["succeeded"] == 1
    assert counts["failed"] == 1


def test_tasks_are_listed_in_dependency_order_with_groups_indented(admin_client):
    flow = register_task_pipeline(
        "ordered",
        {
            "report": {"function": t.echo, "depends_on": ["train"]},
            "train": {
                "depends_on": ["load"],
                "nested_tasks": {
                    "score": {"function": t.echo, "depends_on": ["fit"]},
                    "fit": {"function": t.echo},
                },
            },
            "load": {"function": t.echo},
        },
    )
    run = run_flow(flow)
    rows = admin_client.get(page_url(run)).context["rows"]
    assert [(row.name, row.depth) for row in rows] == [
        ("load", 0),
        ("train", 0),
        ("fit", 1),
        ("score", 1),
        ("report", 0),
    ]


def test_display_order_survives_a_cycle_between_groups():
    """Groups may depend on each other's insides both ways without a real cycle."""
    data = {
        "tasks": [
            {"name": "a", "parent": None, "depends_on": [], "function": None},
            {"name": "a1", "parent": "a", "depends_on": ["b1"], "function": "x"},
            {"name": "a2", "parent": "a", "depends_on": [], "function": "x"},
            {"name": "b", "parent": None, "depends_on": [], "function": None},
            {"name": "b1", "parent": "b", "depends_on": [], "function": "x"},
            {"name": "b2", "parent": "b", "depends_on": ["a2"], "function": "x"},
        ]
    }
    order = Snapshot(data).graph.display_order()
    assert sorted(order) == sorted([("a", 0), ("a1", 1), ("a2", 1), ("b", 0), ("b1", 1), ("b2", 1)])
    assert [name for name, _ in order if name in "ab"] == ["a", "b"]


def test_long_output_is_cut_on_the_page_and_whole_at_show_all(admin_client):
    flow = register_task_pipeline("talkative", {"echo": {"function": t.echo, "params": {"text": "x" * 5000}}})
    run = run_flow(flow)
    task_run = run.task_runs.get()
    text = admin_client.get(page_url(run)).text
    output_url = reverse("admin:flowforge_admin_flowrun_output", args=[run.pk, task_run.pk])
    assert "x" * 5000 not in text
    assert "x" * TREE_TEXT + "…" in text
    assert output_url in text
    whole = admin_client.get(output_url)
    assert whole.json()["kwargs"]["text"] == "x" * 5000


def test_output_of_another_runs_task_is_not_found(admin_client, flow):
    run, other = run_flow(flow), run_flow(flow)
    task_run = other.task_runs.first()
    url = reverse("admin:flowforge_admin_flowrun_output", args=[run.pk, task_run.pk])
    assert admin_client.get(url).status_code == 404


def test_run_page_of_500_tasks_takes_as_many_queries_as_of_5(admin_client):
    def run_of(count, name):
        flow = register_task_pipeline(
            name,
            {f"t{i}": {"function": t.echo, "depends_on": [f"t{i - 1}"] if i else []} for i in range(count)},
        )
        return launch_flow(flow)

    small, large = run_of(5, "small"), run_of(500, "large")
    assert queries_for(admin_client, page_url(large)) == queries_for(admin_client, page_url(small))
    live = reverse("admin:flowforge_admin_flowrun_live", args=[large.pk])
    assert queries_for(admin_client, live) == queries_for(
        admin_client, reverse("admin:flowforge_admin_flowrun_live", args=[small.pk])
    )


def test_live_view_reports_status_tasks_and_page_fragments(stakeholder_client, flow):
    queued = launch_flow(flow)
    data = stakeholder_client.get(reverse("admin:flowforge_admin_flowrun_live", args=[queued.pk])).json()
    assert data["status"] == "queued"
    assert data["finished"] is False
    assert data["tasks"] == {"ok": "queued", "bad": "pending"}
    assert 'id="task-ok"' in data["html"]["tasks"]
    assert "ff-status-queued" in data["html"]["summary"]

    done = run_flow(flow)
    data = stakeholder_client.get(reverse("admin:flowforge_admin_flowrun_live", args=[done.pk])).json()
    assert data["finished"] is True
    assert data["counts"]["failed"] == 1
    assert "<svg" in data["html"]["chart"]


def test_chart_has_one_bar_per_started_task(admin_client, flow):
    run = run_flow(flow)
    chart = admin_client.get(page_url(run)).context["chart"]
    assert [bar.name for bar in chart["bars"]] == ["ok", "bad"]
    assert all(chart["label_width"] <= bar.x <= chart["width"] for bar in chart["bars"])
    assert chart["bars"][0].x <= chart["bars"][1].x


def test_runs_cannot_be_added_or_changed_by_hand(admin_client, flow):
    run = run_flow(flow)
    assert admin_client.get(reverse("admin:flowforge_admin_flowrun_add")).status_code == 403
    response = admin_client.post(page_url(run), {"status": "queued"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == "failed"


def test_a_run_whose_flow_was_deleted_still_shows(admin_client, flow):
    run = run_flow(flow)
    flow.delete()
    page = admin_client.get(page_url(run))
    assert page.status_code == 200
    assert "(deleted)" in page.text
    assert FlowRun.objects.get(pk=run.pk).flow_id is None


def test_search_by_run_number_finds_that_run(admin_client, flow):
    runs = [run_flow(flow) for _ in range(3)]
    for term in (str(runs[1].pk), f"#{runs[1].pk}"):
        response = admin_client.get(reverse("admin:flowforge_admin_flowrun_changelist"), {"q": term})
        assert [run.pk for run in response.context["cl"].result_list] == [runs[1].pk]


def test_date_drill_down_offers_the_periods_between_the_first_and_last_run(admin_client, flow):
    old, new = run_flow(flow), run_flow(flow)
    FlowRun.objects.filter(pk=old.pk).update(created_at=timezone.now().replace(year=2024, month=11))
    FlowRun.objects.filter(pk=new.pk).update(created_at=timezone.now().replace(year=2026, month=2))
    url = reverse("admin:flowforge_admin_flowrun_changelist")
    years = admin_client.get(url).text
    assert all(f"?created_at__year={year}" in years for year in (2024, 2025, 2026))
    months = admin_client.get(url, {"created_at__year": 2024}).text
    assert "created_at__month=11" in months
    shown = admin_client.get(url, {"created_at__year": 2025}).context["cl"].result_list
    assert list(shown) == []
