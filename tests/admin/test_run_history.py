"""The run page's History section: what people and code asked of the run, newest first, in one query."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flowforge_admin import api
from flowforge_admin.admin.runs import HISTORY_EVENTS
from flowforge_admin.engine.launch import launch
from flowforge_admin.models import RunEvent

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    return api.register_task_pipeline(
        "remembered", {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}}
    )


def page(client, run):
    return client.get(reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]))


def add_events(run, count):
    start = timezone.now() - datetime.timedelta(hours=1)
    RunEvent.objects.bulk_create(
        RunEvent(
            run=run,
            created_at=start + datetime.timedelta(seconds=i),
            action=RunEvent.Action.CLEAR_TASKS,
            message=f"event {i:03}",
        )
        for i in range(count)
    )


def test_the_history_shows_each_change_newest_first_with_its_user(client, role_user, flow):
    operator = role_user("Operator")
    run = api.launch_flow(flow)
    api.cancel_run(run, user=operator)
    client.force_login(operator)
    text = page(client, run).text
    history = text[text.index("ff-run-history") :]
    cancelled = history.index(f"Cancelled run #{run.pk}.")
    launched = history.index("Launched from code with parameters {}.")
    assert cancelled < launched
    assert "<td>operator</td>" in history


def test_a_run_nothing_was_asked_of_says_so(admin_client, flow):
    run = launch(flow)  # the engine's launch alone, as for a run made before runs had a history
    assert "Nothing was asked of this run since it was created." in page(admin_client, run).text


def test_the_history_is_bounded_and_read_in_one_query(admin_client, flow):
    run = api.run_flow(flow)
    add_events(run, 1)
    with CaptureQueriesContext(connection) as one_event:
        page(admin_client, run)
    add_events(run, HISTORY_EVENTS + 10)
    with CaptureQueriesContext(connection) as many_events:
        text = page(admin_client, run).text
    assert len(many_events) == len(one_event)
    history = [
        query["sql"] for query in many_events.captured_queries if "flowforge_admin_runevent" in query["sql"]
    ]
    assert len(history) == 1
    assert text.count('class="ff-run-event ') == HISTORY_EVENTS
    newest = f"event {HISTORY_EVENTS + 9:03}"
    assert newest in text
    assert "event 000" not in text
    assert f"The newest {HISTORY_EVENTS} changes." in text
