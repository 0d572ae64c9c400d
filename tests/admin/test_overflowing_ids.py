"""Ids, numbers and text in a query string that the database cannot compare: a 404 or a clean answer, never a 500.

SQLite raises OverflowError beyond 2^63, PostgreSQL a DataError beyond 2^31
for int columns (2^63 for bigint ones); this module also runs on PostgreSQL
(tests/test_postgresql.py runs tests/admin there).
"""

import pytest
from django.urls import reverse

from flowforge_admin import api

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

# Beyond SQLite's 64-bit integers, beyond PostgreSQL's int, beyond bigint, and negative.
HUGE = ["99999999999999999999999", "2147483648", "9223372036854775808", "-99999999999999999999999"]


@pytest.fixture
def run():
    flow = api.register_task_pipeline("overflow", {"a": {"function": t.echo}})
    return api.run_flow(flow)


def pages(run):
    """(url name, args, query) of every admin page reading a number from its query string."""
    task_run = run.task_runs.get()
    return [
        ("flowforge_admin_flow_export", [], "ids={}"),
        ("flowforge_admin_flow_export", [], "ids=1,{}&format=json"),
        ("flowforge_admin_flow_changelist", [], "is_paused__exact={}"),
        ("flowforge_admin_flow_changelist", [], "updated_at__gte={}"),
        ("autocomplete", [], "app_label=flowforge_admin&model_name=task&field_name=depends_on&flow={}"),
        ("autocomplete", [], "app_label=flowforge_admin&model_name=task&field_name=depends_on&term={}"),
        ("flowforge_admin_task_changelist", [], "flow__id__exact={}"),
        ("flowforge_admin_task_changelist", [], "q={}"),
        ("flowforge_admin_flowrun_changelist", [], "created_at__year={}"),
        ("flowforge_admin_flowrun_changelist", [], "created_at__year=2026&created_at__month={}"),
        (
            "flowforge_admin_flowrun_changelist",
            [],
            "created_at__year=2026&created_at__month=1&created_at__day={}",
        ),
        ("flowforge_admin_flowrun_changelist", [], "flow__id__exact={}"),
        ("flowforge_admin_flowrun_changelist", [], "q={}"),
        ("flowforge_admin_flowrun_changelist", [], "q=%3D{}"),
        ("flowforge_admin_flowrun_changelist", [], "q=%23{}"),
        ("flowforge_admin_flowrun_changelist", [], "p={}"),
        ("flowforge_admin_flowrun_changelist", [], "o={}"),
        ("flowforge_admin_flowschedule_changelist", [], "flow__id__exact={}"),
        ("flowforge_admin_flowschedule_add", [], "flow={}"),
        ("flowforge_admin_task_add", [], "flow={}"),
        ("flowforge_admin_task_add", [], "parent={}"),
        ("flowforge_admin_taskrun_changelist", [], "run__id__exact={}"),
        ("flowforge_admin_taskrun_log", [task_run.pk], "attempt={}"),
        ("flowforge_admin_taskrun_log", [task_run.pk], "before={}"),
        ("flowforge_admin_taskrun_log", [task_run.pk], "after={}"),
        ("flowforge_admin_taskrun_log_lines", [task_run.pk], "after={}"),
        ("flowforge_admin_taskrun_log_download", [task_run.pk], "before={}"),
        ("flowforge_admin_flow_graph_data", [run.flow_id], "statuses={}"),
        ("flowforge_admin_flowrun_graph_data", [run.pk], "statuses={}"),
    ]


@pytest.mark.parametrize("number", HUGE)
def test_no_admin_page_fails_on_an_overflowing_number(admin_client, run, number):
    admin_client.raise_request_exception = False  # collect every failing page, not the first
    failures = []
    for name, args, query in pages(run):
        url = f"{reverse(f'admin:{name}', args=args)}?{query.format(number)}"
        status = admin_client.get(url).status_code
        if status >= 500:
            failures.append((url, status))
    assert not failures, "\n".join(f"{status} {url}" for url, status in failures)


def test_an_export_of_ids_no_flow_can_have_exports_no_flow(admin_client, run):
    """Not every flow (as with no ids at all): the ids asked for select nothing."""
    url = reverse("admin:flowforge_admin_flow_export")
    response = admin_client.get(f"{url}?ids=99999999999999999999999&format=json")
    assert response.status_code == 200
    assert b"overflow" not in response.content
    both = admin_client.get(f"{url}?ids={run.flow_id},99999999999999999999999&format=json")
    assert b"overflow" in both.content


def test_the_autocomplete_of_an_overflowing_flow_offers_nothing(admin_client, run):
    url = reverse("admin:autocomplete")
    query = "app_label=flowforge_admin&model_name=task&field_name=depends_on&flow="
    assert admin_client.get(f"{url}?{query}99999999999999999999999").json()["results"] == []
    assert [item["text"] for item in admin_client.get(f"{url}?{query}{run.flow_id}").json()["results"]] == [
        "a"
    ]


@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=99999999999999999999999",
        "created_at__year=2026&created_at__month=99999999999999999999999",
        "created_at__year=2026&created_at__month=1&created_at__day=99999999999999999999999",
    ],
)
def test_a_drill_down_date_too_large_is_a_bad_lookup(admin_client, query):
    """As for a month 13: the admin's own answer to bad lookups, the list with ?e=1."""
    response = admin_client.get(f"{reverse('admin:flowforge_admin_flowrun_changelist')}?{query}")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize("model", ["flow", "task", "flowrun", "taskrun", "flowschedule"])
def test_a_search_with_a_nul_character_is_refused_with_a_message(admin_client, run, model):
    """PostgreSQL refuses NUL in text: Django's search form says so, and no list fails."""
    response = admin_client.get(reverse(f"admin:flowforge_admin_{model}_changelist"), {"q": "a\x00"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.text


@pytest.mark.parametrize("number", ["99999999999999999999999", "9223372036854775808"])
@pytest.mark.parametrize(
    "name",
    [
        "flowforge_admin_flow_change",
        "flowforge_admin_flow_graph",
        "flowforge_admin_flow_graph_data",
        "flowforge_admin_flow_launch",
        "flowforge_admin_flowrun_change",
        "flowforge_admin_flowrun_live",
        "flowforge_admin_flowrun_graph_data",
        "flowforge_admin_task_change",
        "flowforge_admin_flowschedule_change",
        "flowforge_admin_taskrun_log",
        "flowforge_admin_taskrun_log_lines",
    ],
)
def test_an_overflowing_id_in_a_path_is_not_found(admin_client, name, number):
    admin_client.raise_request_exception = False
    response = admin_client.get(reverse(f"admin:{name}", args=[number]))
    assert response.status_code in (302, 404)  # the admin sends a missing object's change page to the list
