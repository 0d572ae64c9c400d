"""The run records in the admin: read-only, listed without a query per run."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline, run_flow

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return register_task_pipeline(
        "recorded", {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}}
    )


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
    assert "1 / 1" in admin_client.get(url).text  # tasks succeeded / failed


def test_run_page_shows_its_task_runs_and_counts(stakeholder_client, flow):
    run = run_flow(flow)
    page = stakeholder_client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert "1 succeeded, 1 failed" in page.text
    assert "RuntimeError: boom" in page.text


def test_runs_cannot_be_added_or_changed_by_hand(admin_client, flow):
    run = run_flow(flow)
    assert admin_client.get(reverse("admin:flowforge_admin_flowrun_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]), {"status": "queued"}
    )
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == "failed"
