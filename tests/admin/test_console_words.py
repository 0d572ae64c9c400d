"""What the console says reads well: machine names keep their case, dependency rows have names."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import FlowSchedule, Task

from .. import engine_tasks as t
from ..conftest import chain_tasks, make_flow

pytestmark = pytest.mark.django_db


def shown_messages(response):
    """The messages as the page shows them (the admin's template capitalises their first letter)."""
    return [
        line.strip()
        for line in response.text.split('<ul class="messagelist">')[1].split("</ul>")[0].split("\n")
        if "<li" in line
    ]


@pytest.fixture
def schedule():
    flow = register_task_pipeline("pipeline_simple", {"ok": {"function": t.echo}})
    return FlowSchedule.objects.create(flow=flow, name="every two minutes", kind="daily")


def test_run_now_says_which_schedule_without_capitalising_its_flow(admin_client, schedule):
    url = reverse("admin:flowforge_admin_flowschedule_run_now", args=[schedule.pk])
    response = admin_client.post(url, follow=True)
    (message,) = shown_messages(response)
    assert "Schedule pipeline_simple / every two minutes: launched run" in message
    assert "Pipeline_simple" not in response.text


def test_a_refused_run_now_says_which_schedule_without_capitalising_its_flow(admin_client, schedule):
    schedule.flow.is_paused = True
    schedule.flow.save()
    url = reverse("admin:flowforge_admin_flowschedule_run_now", args=[schedule.pk])
    response = admin_client.post(url, follow=True)
    (message,) = shown_messages(response)
    assert "Schedule pipeline_simple / every two minutes: " in message
    assert "Pipeline_simple" not in response.text


def test_the_delete_confirmation_names_each_dependency_upstream_first(admin_client):
    flow = register_task_pipeline(
        "etl", {"load": {"function": t.echo}, "clean": {"function": t.echo, "depends_on": ["load"]}}
    )
    response = admin_client.get(reverse("admin:flowforge_admin_flow_delete", args=[flow.pk]))
    assert "<li>Dependencies: 1</li>" in response.text
    assert "<li>Dependency: load → clean</li>" in response.text
    assert "relationship" not in response.text
    assert "object (" not in response.text
    task = Task.objects.get(name="load")
    response = admin_client.get(reverse("admin:flowforge_admin_task_delete", args=[task.pk]))
    assert "<li>Dependency: load → clean</li>" in response.text


def test_the_delete_confirmation_reads_dependencies_in_a_fixed_number_of_queries(admin_client):
    def queries(count, name):
        flow = make_flow(name, chain_tasks(count))
        with CaptureQueriesContext(connection) as context:
            response = admin_client.get(reverse("admin:flowforge_admin_flow_delete", args=[flow.pk]))
        assert response.status_code == 200
        return len(context.captured_queries)

    assert queries(3, "small") == queries(30, "large")


def test_the_launch_page_labels_a_key_without_title_in_words_and_shows_the_key(admin_client):
    flow = register_task_pipeline(
        "labelled",
        {"ok": {"function": t.echo}},
        params={"batch_size": 3},
        params_schema={"type": "object", "properties": {"batch_size": {"type": "integer"}}},
    )
    page = admin_client.get(reverse("admin:flowforge_admin_flow_launch", args=[flow.pk])).text
    assert '<label for="id_batch_size">Batch size:</label>' in page
    assert "Default: 3. Key: batch_size." in page
