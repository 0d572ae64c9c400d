"""Launching runs from the admin: the Run page of a flow and the "Run selected flows" action."""

import datetime

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from flowforge_admin.actions.runs import LaunchFlowAction
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.forms.launch import EXTRA, LOGICAL_DATE
from flowforge_admin.models import Flow, FlowRun
from tests.conftest import chain_tasks, make_flow

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "enum": ["eu", "us"], "description": "Where the data is loaded."},
        "batch_size": {"type": "integer", "minimum": 1},
    },
    "required": ["region"],
}


@pytest.fixture
def etl():
    return make_flow(
        "etl", chain_tasks(2), display_name="ETL", params={"batch_size": 10}, params_schema=SCHEMA
    )


@pytest.fixture
def plain():
    return make_flow("plain", [TaskSpec("only", function="flowforge_admin.demo.tasks.prepare_batch")])


def launch_url(flow):
    return reverse("admin:flowforge_admin_flow_launch", args=[flow.pk])


def change_url(flow):
    return reverse("admin:flowforge_admin_flow_change", args=[flow.pk])


def changelist_url():
    return reverse("admin:flowforge_admin_flow_changelist")


def run_url(run):
    return reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])


def pause(flow):
    Flow.objects.filter(pk=flow.pk).update(is_paused=True)


def form_errors(response, form=None):
    assert response.status_code == 200, "the form was accepted"
    form = form or response.context["form"]
    return {field: list(messages) for field, messages in form.errors.items()}


# The Run page -----------------------------------------------------------------------


def test_run_page_shows_one_field_per_parameter(operator_client, etl):
    response = operator_client.get(launch_url(etl))

    assert response.status_code == 200
    assert list(response.context["form"].fields) == ["region", "batch_size", EXTRA, LOGICAL_DATE]
    text = response.text
    assert "Where the data is loaded." in text
    assert '<option value="eu">eu</option>' in text
    assert 'value="Run"' in text
    assert f'<a href="{change_url(etl)}">ETL</a>\n&rsaquo; Run' in text  # breadcrumbs


def test_launching_creates_a_run_with_the_forms_parameters_and_goes_to_its_page(operator_client, etl):
    response = operator_client.post(launch_url(etl), {"region": "us", "batch_size": "25", EXTRA: ""})

    run = FlowRun.objects.get()
    assert response.status_code == 302
    assert response.url == run_url(run)
    assert run.flow == etl
    assert run.params == {"region": "us", "batch_size": 25}
    assert (run.triggered_by, run.triggered_by_user.username) == (FlowRun.Trigger.USER, "operator")
    message = [str(m) for m in operator_client.get(response.url).context["messages"]]
    assert message == [f'Launched run <a href="{run_url(run)}">etl #{run.pk}</a>.']


def test_a_launch_is_in_the_history_of_the_flow_and_of_the_run(operator_client, etl):
    operator_client.post(launch_url(etl), {"region": "us", "batch_size": "25"})
    run = FlowRun.objects.get()

    flow_entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(Flow))
    run_entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(FlowRun))
    assert (flow_entry.object_id, flow_entry.action_flag, flow_entry.user.username) == (
        str(etl.pk),
        CHANGE,
        "operator",
    )
    assert (
        flow_entry.change_message
        == f'Launched run #{run.pk} with parameters {{"batch_size": 25, "region": "us"}}.'
    )
    assert (run_entry.object_id, run_entry.action_flag) == (str(run.pk), ADDITION)

    history = operator_client.get(reverse("admin:flowforge_admin_flow_history", args=[etl.pk]))
    assert f"Launched run #{run.pk} with parameters" in history.text
    history = operator_client.get(reverse("admin:flowforge_admin_flowrun_history", args=[run.pk]))
    assert "Launched from the admin with parameters" in history.text


def test_invalid_parameters_are_shown_next_to_the_field_and_nothing_is_launched(operator_client, etl):
    response = operator_client.post(launch_url(etl), {"region": "us", "batch_size": "0"})

    assert form_errors(response) == {"batch_size": ["0 is less than the minimum of 1"]}
    assert "Please correct the error below." in response.text
    assert not FlowRun.objects.exists()
    assert not LogEntry.objects.exists()


def test_a_blank_logical_date_is_the_launch_moment_a_given_one_is_kept(operator_client, etl):
    before = timezone.now()
    operator_client.post(launch_url(etl), {"region": "us", LOGICAL_DATE: ""})
    after = timezone.now()
    run = FlowRun.objects.get()
    assert before <= run.logical_date <= after

    operator_client.post(launch_url(etl), {"region": "us", LOGICAL_DATE: "2026-01-31 06:00"})
    run = FlowRun.objects.latest("pk")
    assert run.logical_date == datetime.datetime(2026, 1, 31, 6, tzinfo=datetime.UTC)


def test_a_bad_logical_date_is_shown_next_to_the_field_and_nothing_is_launched(operator_client, etl):
    response = operator_client.post(launch_url(etl), {"region": "us", LOGICAL_DATE: "31/31/2026"})

    assert form_errors(response) == {
        LOGICAL_DATE: ["Enter a date, or a date and time, such as 2026-01-31 or 2026-01-31 06:00."]
    }
    assert not FlowRun.objects.exists()


def test_a_paused_flow_says_why_and_cannot_be_launched(operator_client, etl):
    pause(etl)

    page = operator_client.get(launch_url(etl))
    assert "flow &#x27;etl&#x27; is paused: resume it before launching a run" in page.text
    assert 'value="Run"' not in page.text

    response = operator_client.post(launch_url(etl), {"region": "us", "batch_size": "5"})
    assert form_errors(response) == {"__all__": ["flow 'etl' is paused: resume it before launching a run"]}
    assert not FlowRun.objects.exists()


def test_a_refusal_of_launch_itself_is_shown_on_the_form(operator_client, etl, monkeypatch):
    """If the flow is paused between the check and the launch, the page says so: no 500, no run."""

    def paused_meanwhile(action):
        raise InvalidTransition("flow 'etl' is paused: resume it before launching a run")

    monkeypatch.setattr(LaunchFlowAction, "perform", paused_meanwhile)

    response = operator_client.post(launch_url(etl), {"region": "us", "batch_size": "5"})

    assert form_errors(response) == {"__all__": ["flow 'etl' is paused: resume it before launching a run"]}
    assert not LogEntry.objects.exists()


def test_unknown_flow_goes_back_to_the_admin_index(operator_client):
    response = operator_client.get(reverse("admin:flowforge_admin_flow_launch", args=[999]))

    assert (response.status_code, response.url) == (302, reverse("admin:index"))


# Who may launch ------------------------------------------------------------------------


def test_stakeholders_get_403_and_launch_nothing(stakeholder_client, etl):
    assert stakeholder_client.get(launch_url(etl)).status_code == 403
    assert stakeholder_client.post(launch_url(etl), {"region": "us", "batch_size": "5"}).status_code == 403
    assert not FlowRun.objects.exists()


def test_anonymous_users_are_sent_to_the_login_page(client, etl):
    response = client.get(launch_url(etl))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize(("role_client", "shown"), [("operator_client", True), ("stakeholder_client", False)])
def test_run_button_only_for_those_who_may_launch(request, etl, role_client, shown):
    client = request.getfixturevalue(role_client)

    page = client.get(change_url(etl))

    assert (f'href="{launch_url(etl)}"' in page.text) is shown


def test_run_button_of_a_paused_flow_is_disabled_with_the_reason(operator_client, etl):
    pause(etl)

    page = operator_client.get(change_url(etl)).text

    assert f'href="{launch_url(etl)}"' not in page
    assert 'class="ff-tool-disabled" title="This flow is paused: resume it before launching a run."' in page
    assert "This flow is paused: no run can be launched" in page


def test_editor_and_superuser_may_launch(editor_client, admin_client, etl):
    assert editor_client.get(launch_url(etl)).status_code == 200
    assert admin_client.post(launch_url(etl), {"region": "eu", "batch_size": "1"}).status_code == 302
    assert FlowRun.objects.get().triggered_by_user.username == "admin"


# The "Run selected flows" action ---------------------------------------------------------


def choose(client, *flows, **confirm):
    """POST the changelist's action form (with ``confirm``: the confirmation page's form)."""
    data = {"action": "launch_selected", "_selected_action": [flow.pk for flow in flows]}
    if confirm:
        data.update({"post": "yes", **confirm})
    else:
        data["index"] = "0"
    return client.post(changelist_url(), data)


def test_action_asks_for_the_parameters_of_each_selected_flow(operator_client, etl, plain):
    response = choose(operator_client, etl, plain)

    assert response.status_code == 200
    forms = response.context["forms"]
    assert [(form.flow.name, form.prefix) for form in forms] == [
        ("etl", f"flow-{etl.pk}"),
        ("plain", f"flow-{plain.pk}"),
    ]
    assert not any(form.is_bound for form in forms)
    assert f'name="flow-{etl.pk}-region"' in response.text
    assert response.text.count('name="_selected_action"') == 2
    assert f'<a href="{change_url(etl)}">ETL</a></h2>' in response.text
    assert not FlowRun.objects.exists()


def test_action_confirmed_launches_every_flow_and_lists_the_runs(operator_client, etl, plain):
    response = choose(
        operator_client, etl, plain, **{f"flow-{etl.pk}-region": "eu", f"flow-{etl.pk}-batch_size": "3"}
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:flowforge_admin_flowrun_changelist")
    runs = {run.flow_name: run for run in FlowRun.objects.all()}
    assert runs["etl"].params == {"region": "eu", "batch_size": 3}
    assert runs["plain"].params == {}
    messages = [str(m) for m in operator_client.get(response.url).context["messages"]]
    assert len(messages) == 1
    assert messages[0].startswith("Launched 2 runs: ")
    for run in runs.values():
        assert f'<a href="{run_url(run)}">{run}</a>' in messages[0]
    assert LogEntry.objects.filter(action_flag=ADDITION).count() == 2


def test_action_with_one_flow_goes_to_its_run(operator_client, plain):
    response = choose(operator_client, plain, **{f"flow-{plain.pk}-{EXTRA}": '{"batch_size": 4}'})

    run = FlowRun.objects.get()
    assert response.url == run_url(run)
    assert run.params == {"batch_size": 4}


def test_action_with_one_invalid_form_launches_nothing_and_shows_the_error(operator_client, etl, plain):
    response = choose(
        operator_client, etl, plain, **{f"flow-{etl.pk}-region": "mars", f"flow-{etl.pk}-batch_size": "3"}
    )

    assert response.status_code == 200
    etl_form, plain_form = response.context["forms"]
    assert form_errors(response, etl_form) == {
        "region": ["Select a valid choice. mars is not one of the available choices."]
    }
    assert plain_form.is_valid()
    assert not FlowRun.objects.exists()


def test_action_refused_by_launch_for_the_second_flow_launches_nothing(
    operator_client, etl, plain, monkeypatch
):
    """All or nothing: when launch refuses one flow, the runs made before it are rolled back."""
    real_perform = LaunchFlowAction.perform

    def refuse_plain(action):
        if action.flow.name == "plain":
            raise InvalidTransition("flow 'plain' is paused: resume it before launching a run")
        return real_perform(action)

    monkeypatch.setattr(LaunchFlowAction, "perform", refuse_plain)

    response = choose(
        operator_client, etl, plain, **{f"flow-{etl.pk}-region": "eu", f"flow-{etl.pk}-batch_size": "3"}
    )

    assert form_errors(response, response.context["forms"][1]) == {
        "__all__": ["flow 'plain' is paused: resume it before launching a run"]
    }
    assert not FlowRun.objects.exists()
    assert not LogEntry.objects.exists()


def test_action_with_a_paused_flow_says_why_and_offers_no_confirm_button(operator_client, etl, plain):
    pause(plain)

    response = choose(operator_client, etl, plain)

    assert "flow &#x27;plain&#x27; is paused: resume it before launching a run" in response.text
    assert "Paused flows cannot be launched" in response.text
    assert 'value="Run 2 flows"' not in response.text

    response = choose(
        operator_client, etl, plain, **{f"flow-{etl.pk}-region": "eu", f"flow-{etl.pk}-batch_size": "3"}
    )
    assert response.status_code == 200
    assert not FlowRun.objects.exists()


@pytest.mark.parametrize(
    ("role_client", "offered"), [("operator_client", True), ("stakeholder_client", False)]
)
def test_action_is_offered_only_to_those_who_may_launch(request, etl, role_client, offered):
    client = request.getfixturevalue(role_client)

    assert (
        '<option value="launch_selected">Run selected flows</option>' in client.get(changelist_url()).text
    ) is offered


def test_stakeholders_cannot_use_the_action_by_posting_it(stakeholder_client, etl):
    response = choose(
        stakeholder_client, etl, **{f"flow-{etl.pk}-region": "eu", f"flow-{etl.pk}-batch_size": "3"}
    )

    assert response.status_code in (200, 302)
    assert not FlowRun.objects.exists()
