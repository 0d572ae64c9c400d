"""The run list's logical dates (filtered by date, ordered by them from the sidebar) and the run page's dates."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from flowforge_admin.api import launch_flow, register_task_pipeline

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

LIST = reverse("admin:flowforge_admin_flowrun_changelist")


@pytest.fixture
def runs():
    flow = register_task_pipeline("dated", {"dates": {"function": t.dates}})
    days = [datetime.datetime(2026, 1, day, 6, tzinfo=datetime.UTC) for day in (20, 10, 30)]
    return [launch_flow(flow, logical_date=day) for day in days]


def test_the_list_filters_by_logical_date(admin_client, runs):
    today = launch_flow("dated")
    since = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    response = admin_client.get(LIST, {"logical_date__gte": str(since)})
    assert [run.pk for run in response.context["cl"].result_list] == [today.pk]
    assert "By logical date" in response.text


@pytest.mark.parametrize(("order", "days"), [("newest", [30, 20, 10]), ("oldest", [10, 20, 30])])
def test_the_list_orders_runs_by_logical_date_from_its_sidebar(admin_client, runs, order, days):
    response = admin_client.get(LIST, {"logical_order": order})
    assert [run.logical_date.day for run in response.context["cl"].result_list] == days
    assert "By logical date order" in response.text


def test_a_column_header_order_still_wins_over_the_sidebar_order(admin_client, runs):
    response = admin_client.get(
        LIST, {"logical_order": "oldest", "o": "1"}
    )  # the run column: newest id first
    assert [run.pk for run in response.context["cl"].result_list] == sorted(
        (run.pk for run in runs), reverse=True
    )


def test_the_run_page_shows_the_logical_date_and_data_interval(admin_client):
    flow = register_task_pipeline("dated", {"dates": {"function": t.dates}})
    day = datetime.datetime(2026, 1, 20, 6, tzinfo=datetime.UTC)
    run = launch_flow(flow, logical_date=day, data_interval=(day - datetime.timedelta(days=1), day))
    text = admin_client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])).text
    assert "logical date 2026-01-20 06:00:00" in text
    assert "data interval 2026-01-19 06:00:00 – 2026-01-20 06:00:00" in text


def test_the_flow_grid_labels_its_columns_by_logical_date(admin_client):
    from flowforge_admin.admin.grid import build_run_grid

    flow = register_task_pipeline("dated", {"dates": {"function": t.dates}})
    run = launch_flow(flow, logical_date=datetime.datetime(2025, 12, 24, 18, 30, tzinfo=datetime.UTC))
    [column] = build_run_grid(flow, []).columns
    assert column.short_date == "12-24 18:30"
    assert column.title == f"Run #{run.pk}, queued, logical date 2025-12-24 18:30"
