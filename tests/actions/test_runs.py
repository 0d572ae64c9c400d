"""Run actions: the same check and the same records whatever the entrance (admin button, api.py, code)."""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from flowforge_admin import api
from flowforge_admin.actions.runs import (
    CancelRunAction,
    ClearTasksAction,
    LaunchFlowAction,
    MarkTaskAction,
    RerunFailedAction,
    RetryTaskAction,
)
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import FlowRun, RunEvent, TaskRun

from .conftest import events_of, log_of

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"admin:flowforge_admin_flowrun_{name}", args=args)


def queued(flow):
    return api.launch_flow(flow)


def failed(flow):
    return api.run_flow(flow)


def bad_task(run):
    return run.task_runs.get(task_name="bad")


# (name, how to make the run, the admin's POST (URL name, URL args, data), the same from code)
CHANGES = [
    (
        "cancel",
        queued,
        lambda run: ("cancel", [run.pk], {}),
        lambda run, user: api.cancel_run(run, user=user),
    ),
    (
        "rerun",
        failed,
        lambda run: ("rerun", [run.pk], {}),
        lambda run, user: api.rerun_failed(run, user=user),
    ),
    (
        "retry",
        failed,
        lambda run: ("retry", [run.pk, bad_task(run).pk], {}),
        lambda run, user: api.retry_task(bad_task(run), user=user),
    ),
    (
        "mark",
        failed,
        lambda run: ("mark", [run.pk, bad_task(run).pk], {"status": "succeeded", "reason": "fixed by hand"}),
        lambda run, user: api.mark_task(bad_task(run), "succeeded", "fixed by hand", user=user),
    ),
]


def without_id(records, run):
    """``records`` with the run's id written as N, to compare the records of two runs."""
    return [tuple(str(value).replace(f"#{run.pk}", "#N") for value in record) for record in records]


@pytest.mark.parametrize(
    ("name", "make_run", "admin_post", "from_code"), CHANGES, ids=[c[0] for c in CHANGES]
)
def test_a_change_from_code_with_a_user_is_recorded_as_the_admin_button_records_it(
    client, operator, flow, name, make_run, admin_post, from_code
):
    by_button, by_code = make_run(flow), make_run(flow)
    client.force_login(operator)
    url_name, args, data = admin_post(by_button)
    assert client.post(url(url_name, *args), data).status_code == 302
    from_code(by_code, operator)

    assert log_of(by_button)  # the button wrote its entry
    assert without_id(log_of(by_code), by_code) == without_id(log_of(by_button), by_button)
    assert without_id(events_of(by_code), by_code) == without_id(events_of(by_button), by_button)
    # The run's own history says the same as the admin log.
    assert [message for *_, message in events_of(by_code, launch=False)] == [
        message for *_, message in log_of(by_code)
    ]
    entry = LogEntry.objects.get(object_id=str(by_code.pk), content_type__model="flowrun")
    assert (entry.user, entry.action_flag, entry.object_repr) == (operator, CHANGE, str(by_code))


def test_cancel_run_from_code_writes_the_admins_words(operator, flow):
    run = queued(flow)
    api.cancel_run(run, user=operator)
    assert log_of(run) == [("operator", CHANGE, f"Cancelled run #{run.pk}.")]
    assert events_of(run, launch=False) == [("operator", "cancel", f"Cancelled run #{run.pk}.")]


@pytest.mark.parametrize(
    ("name", "make_run", "admin_post", "from_code"), CHANGES, ids=[c[0] for c in CHANGES]
)
def test_a_user_without_cancel_run_is_refused_and_the_run_is_unchanged(
    stakeholder, flow, name, make_run, admin_post, from_code
):
    run = make_run(flow)
    before = (run.status, sorted(run.task_runs.values_list("task_name", "status", "attempt")))
    with pytest.raises(PermissionDenied, match="flowforge_admin.cancel_run is needed"):
        from_code(run, stakeholder)
    run.refresh_from_db()
    assert (run.status, sorted(run.task_runs.values_list("task_name", "status", "attempt"))) == before
    assert log_of(run) == []
    assert events_of(run, launch=False) == []


def test_clear_tasks_needs_cancel_run_too(stakeholder, operator, flow):
    run = failed(flow)
    with pytest.raises(PermissionDenied):
        api.clear_tasks(run, ["ok"], user=stakeholder)
    assert run.task_runs.get(task_name="ok").attempt == 1
    assert events_of(run, launch=False) == []

    api.clear_tasks(run, ["ok"], user=operator)
    message = f"Cleared tasks ok and what waits for them of run #{run.pk}."
    assert events_of(run, launch=False) == [("operator", "clear_tasks", message)]
    assert log_of(run) == [("operator", CHANGE, message)]


def test_an_inactive_user_is_refused(operator, flow):
    operator.is_active = False
    operator.save()
    run = queued(flow)
    with pytest.raises(PermissionDenied):
        api.cancel_run(run, user=operator)
    run.refresh_from_db()
    assert run.status == "queued"


@pytest.mark.parametrize(
    ("name", "make_run", "admin_post", "from_code"), CHANGES, ids=[c[0] for c in CHANGES]
)
def test_without_a_user_the_run_records_the_change_but_the_admin_log_does_not(
    flow, name, make_run, admin_post, from_code
):
    run = make_run(flow)
    from_code(run, None)
    [(user, _, message)] = events_of(run, launch=False)
    assert user is None
    assert f"run #{run.pk}" in message
    assert not LogEntry.objects.exists()


def test_the_contracts_signatures_still_work(flow):
    run = failed(flow)
    api.rerun_failed(run)
    api.mark_task(bad_task(run), "failed", "gave up")
    api.clear_tasks(run, ["bad"], False)
    api.cancel_run(run)
    assert [action for _, action, _ in events_of(run)] == [
        "launch",
        "rerun_failed",
        "mark_task",
        "clear_tasks",
        "cancel",
    ]
    assert not LogEntry.objects.exists()
    clear = events_of(run)[3][2]
    assert clear == f"Cleared tasks bad of run #{run.pk}."


# Refusals change nothing and record nothing ------------------------------------------------


def refused_cancel(flow, user):
    return CancelRunAction(failed(flow), user=user)


def refused_rerun(flow, user):
    return RerunFailedAction(queued(flow), user=user)


def refused_retry(flow, user):
    return RetryTaskAction(failed(flow).task_runs.get(task_name="ok"), user=user)


def refused_mark(flow, user):
    return MarkTaskAction(bad_task(failed(flow)), "succeeded", "  ", user=user)


def refused_clear(flow, user):
    return ClearTasksAction(failed(flow), ["nope"], user=user)


@pytest.mark.parametrize("make", [refused_cancel, refused_rerun, refused_retry, refused_mark, refused_clear])
@pytest.mark.parametrize("as_operator", [True, False], ids=["operator", "code"])
def test_a_change_not_possible_now_changes_nothing_and_records_nothing(request, flow, make, as_operator):
    action = make(flow, request.getfixturevalue("operator") if as_operator else None)
    run = action.run
    before = sorted(TaskRun.objects.filter(run=run).values_list("task_name", "status", "attempt", "revision"))
    status = FlowRun.objects.get(pk=run.pk).status
    with pytest.raises((InvalidTransition, ValidationError)):
        action.execute()
    after = sorted(TaskRun.objects.filter(run=run).values_list("task_name", "status", "attempt", "revision"))
    assert (FlowRun.objects.get(pk=run.pk).status, after) == (status, before)
    assert not RunEvent.objects.exclude(action=RunEvent.Action.LAUNCH).exists()
    assert not LogEntry.objects.exists()


# Launches ----------------------------------------------------------------------------------


def test_a_launch_with_a_user_is_recorded_on_the_run_and_on_its_flow(operator, flow):
    run = api.launch_flow(flow, {"size": 5}, triggered_by=operator)
    assert (run.triggered_by, run.triggered_by_user) == (FlowRun.Trigger.USER, operator)
    words = 'with parameters {"size": 5}.'
    assert log_of(run) == [("operator", ADDITION, f"Launched from code {words}")]
    assert log_of(flow) == [("operator", CHANGE, f"Launched run #{run.pk} {words}")]
    assert events_of(run) == [("operator", "launch", f"Launched from code {words}")]


def test_a_launch_without_a_user_is_in_the_runs_history_only(flow):
    run = api.launch_flow(flow)
    assert run.triggered_by == FlowRun.Trigger.CODE
    assert events_of(run) == [(None, "launch", "Launched from code with parameters {}.")]
    assert not LogEntry.objects.exists()


def test_a_launch_from_the_admin_and_from_code_write_the_same_kind_of_records(client, operator, flow):
    client.force_login(operator)
    client.post(reverse("admin:flowforge_admin_flow_launch", args=[flow.pk]), {"size": "5"})
    by_form = FlowRun.objects.get()
    by_code = LaunchFlowAction(flow, {"size": 5}, user=operator, how="Launched from the admin").execute()
    assert without_id(log_of(by_code), by_code) == without_id(log_of(by_form), by_form)
    assert without_id(events_of(by_code), by_code) == without_id(events_of(by_form), by_form)
    assert [message for *_, message in log_of(flow)] == [
        f'Launched run #{run.pk} with parameters {{"size": 5}}.' for run in (by_form, by_code)
    ]


def test_a_run_in_this_process_is_launched_and_recorded_as_any_launch(operator, stakeholder, flow):
    run = api.run_flow(flow, {"size": 5}, user=operator)
    assert run.status == "failed"  # it ran here: "bad" fails
    words = 'Run in this process from code with parameters {"size": 5}.'
    assert events_of(run) == [("operator", "launch", words)]
    assert log_of(run) == [("operator", ADDITION, words)]
    with pytest.raises(PermissionDenied, match="flowforge_admin.launch_flow is needed"):
        api.run_flow(flow, user=stakeholder)
    assert FlowRun.objects.count() == 1


def test_a_user_without_launch_flow_launches_nothing(stakeholder, flow):
    with pytest.raises(PermissionDenied, match="flowforge_admin.launch_flow is needed"):
        api.launch_flow(flow, triggered_by=stakeholder)
    assert not FlowRun.objects.exists()
    assert not RunEvent.objects.exists()
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("params", "paused", "error"),
    [({"not-an-identifier": 1}, False, ValidationError), (None, True, InvalidTransition)],
    ids=["bad parameters", "paused flow"],
)
def test_a_refused_launch_creates_nothing(operator, flow, params, paused, error):
    flow.is_paused = paused
    flow.save()
    with pytest.raises(error):
        api.launch_flow(flow, params, triggered_by=operator)
    assert not FlowRun.objects.exists()
    assert not RunEvent.objects.exists()
    assert not LogEntry.objects.exists()


def test_triggered_by_must_be_a_user(flow):
    with pytest.raises(TypeError, match="must be a user or None"):
        api.launch_flow(flow, triggered_by="operator")
    assert not FlowRun.objects.exists()


def test_a_refusal_says_who_may_not_do_what(stakeholder, flow):
    run = failed(flow)
    with pytest.raises(PermissionDenied) as raised:
        api.retry_task(bad_task(run), user=stakeholder)
    assert str(raised.value) == (
        f"stakeholder may not retry task bad of run #{run.pk}: flowforge_admin.cancel_run is needed"
    )
