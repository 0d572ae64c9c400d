"""The run list's search: a run id as the README writes it (``=42``), as ``#42`` or ``42``; else flow names."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowforge_admin import api

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db
LIST_URL = "admin:flowforge_admin_flowrun_changelist"


@pytest.fixture
def runs():
    flow = api.register_task_pipeline("searched", {"a": {"function": t.echo}})
    return [api.launch_flow(flow) for _ in range(3)]


def found(client, term):
    response = client.get(reverse(LIST_URL), {"q": term})
    assert response.status_code == 200
    return [run.pk for run in response.context["cl"].result_list]


@pytest.mark.parametrize("form", ["{}", "#{}", "={}", " ={} ", "=#{}"])
def test_a_run_id_in_any_documented_form_finds_that_run(admin_client, runs, form):
    wanted = runs[1].pk
    assert found(admin_client, form.format(wanted)) == [wanted]


@pytest.mark.parametrize("term", ["=", "#", "=abc", "=99999999999999999999999", "=-1", "=٤٢"])
def test_a_search_that_is_no_run_id_finds_nothing_and_does_not_fail(admin_client, runs, term):
    assert found(admin_client, term) == []


def test_other_text_searches_flow_names(admin_client, runs):
    assert sorted(found(admin_client, "search")) == sorted(run.pk for run in runs)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(term=st.text(max_size=30) | st.from_regex(r"\A[=#]{0,2}-?[0-9]{1,40}\Z"))
def test_no_search_text_gives_a_server_error(admin_client, term):
    response = admin_client.get(reverse(LIST_URL), {"q": term})
    assert response.status_code == 200
