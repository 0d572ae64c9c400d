"""Approval steps in this process: waiting for a person, approve, reject, timeout, and what people do meanwhile.

The real-worker behaviour (no worker held while it waits, a decision lets
the run go on) is in test_sensors_on_workers.py; who may decide, over the
admin and the API, in tests/admin/test_approvals.py and tests/api.
"""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_q.models import OrmQ

from flowforge_admin.actions.approvals import DecideApprovalAction, may_decide, waiting_for
from flowforge_admin.api import (
    cancel_run,
    clear_tasks,
    launch_flow,
    mark_task,
    register_task_pipeline,
    run_flow,
)
from flowforge_admin.engine import approvals, dispatch, recovery
from flowforge_admin.exceptions import InvalidTransition
from flowforge_admin.models import AlertDelivery, RunEvent, TaskLog, TaskRun
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import deliver, statuses
from .invariants import run_problems

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {"threshold": {"type": "number", "minimum": 0, "maximum": 1}, "note": {"type": "string"}},
    "required": ["threshold"],
    "additionalProperties": False,
}


def timers():
    """(args, due) of every approval timeout message waiting in the ORM broker."""
    return [
        (tuple(message.task["args"]), message.lock)
        for message in OrmQ.objects.order_by("id")
        if message.task["func"] == dispatch.APPROVAL_ENTRY
    ]


def worker_messages():
    return [
        tuple(m.task["args"][:2])
        for m in OrmQ.objects.order_by("id")
        if m.task["func"] == dispatch.WORKER_ENTRY
    ]


def lines(task_run):
    return list(TaskLog.objects.filter(task_run=task_run).order_by("id").values_list("message", flat=True))


@pytest.fixture
def waiting(db, django_capture_on_commit_callbacks):
    """A run whose approval step "review" waits, its upstream "train" done, "deploy" after it."""
    flow = register_task_pipeline(
        "reviewed",
        {
            "train": {"function": t.echo},
            "review": {
                "depends_on": ["train"],
                "approval": {"group": "Model reviewers", "params_schema": SCHEMA, "timeout": 3600},
            },
            "deploy": {"function": t.echo, "depends_on": ["review"]},
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow)
    train = run.task_runs.get(task_name="train")
    OrmQ.objects.filter(
        id__in=[m.id for m in OrmQ.objects.all() if m.task["func"] == dispatch.WORKER_ENTRY]
    ).delete()
    deliver(django_capture_on_commit_callbacks, train.pk, 1)
    return run, run.task_runs.get(task_name="review")


@pytest.fixture
def reviewer(db):
    user = User.objects.create_user("rita", password="x", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Model reviewers")[0])
    return user


def test_an_approval_step_waits_for_its_group_holding_no_worker(waiting):
    run, review = waiting
    assert (review.status, review.attempt, review.approval_group) == (TaskState.WAITING, 1, "Model reviewers")
    assert review.next_attempt_at - review.wait_started_at == datetime.timedelta(seconds=3600)
    assert worker_messages() == []  # nothing for a worker to do
    assert timers() == [((review.pk, 1), review.next_attempt_at)]  # only its timeout, not takeable before
    [line] = lines(review)
    assert line.startswith("waiting for approval by group 'Model reviewers' until ")
    run.refresh_from_db()
    assert (run.status, run.waiting_count, run.running_count, run.queued_count) == (RunState.RUNNING, 1, 0, 0)
    assert statuses(run)["deploy"] == TaskState.PENDING
    assert run_problems(run) == []


def test_approved_it_succeeds_with_the_form_data_and_the_run_goes_on(
    waiting, reviewer, django_capture_on_commit_callbacks
):
    run, review = waiting
    with django_capture_on_commit_callbacks(execute=True):
        DecideApprovalAction(
            review, approve=True, comment="metrics look right", data={"threshold": 0.8}, user=reviewer
        ).execute()
    review.refresh_from_db()
    assert (review.status, review.output, review.error) == (TaskState.SUCCEEDED, {"threshold": 0.8}, "")
    assert lines(review)[-1] == "approved by rita: metrics look right"
    deploy = run.task_runs.get(task_name="deploy")
    assert deploy.status == TaskState.QUEUED
    assert worker_messages() == [(deploy.pk, 1)]
    event = RunEvent.objects.get(run=run, action=RunEvent.Action.APPROVE)
    assert (event.user, event.message) == (
        reviewer,
        f"Approved task review of run #{run.pk}: metrics look right",
    )
    entry = LogEntry.objects.get(user=reviewer)
    assert entry.object_id == str(run.pk)
    assert "Approved task review" in entry.change_message
    assert run_problems(run) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "params: 'threshold' is a required property"),
        ({"threshold": 2}, "params.threshold: 2 is greater than the maximum of 1"),
        ({"threshold": 0.5, "extra": 1}, "Additional properties are not allowed ('extra' was unexpected)"),
    ],
)
def test_data_that_does_not_suit_the_form_is_refused_and_changes_nothing(waiting, reviewer, data, message):
    run, review = waiting
    action = DecideApprovalAction(review, approve=True, data=data, user=reviewer)
    with pytest.raises(ValidationError) as refused:
        action.execute()
    assert message in " ".join(refused.value.messages)
    review.refresh_from_db()
    assert review.status == TaskState.WAITING
    assert not RunEvent.objects.filter(run=run, action=RunEvent.Action.APPROVE).exists()
    assert len(lines(review)) == 1


def test_rejected_it_fails_with_the_comment_and_nothing_downstream_runs(waiting, reviewer):
    run, review = waiting
    with pytest.raises(ValidationError, match="a rejection needs a comment"):
        DecideApprovalAction(review, approve=False, comment="  ", user=reviewer).execute()
    DecideApprovalAction(review, approve=False, comment="AUC dropped", user=reviewer).execute()
    review.refresh_from_db()
    assert (review.status, review.error) == (TaskState.FAILED, "rejected by rita: AUC dropped")
    assert lines(review)[-1] == "rejected by rita: AUC dropped"
    assert statuses(run)["deploy"] == TaskState.UPSTREAM_FAILED
    assert run.status == RunState.FAILED
    # Decided once: a second decision (a second click, another approver) is refused.
    with pytest.raises(InvalidTransition, match="only an approval step that is waiting"):
        DecideApprovalAction(review, approve=True, data={"threshold": 0.5}, user=reviewer).execute()


def test_only_its_approvers_decide(waiting, reviewer):
    run, review = waiting
    outsider = User.objects.create_user("otto", password="x", is_staff=True)
    outsider.user_permissions.add(Permission.objects.get(codename="approve_task"))  # not enough with a group
    with pytest.raises(PermissionDenied, match="only members of group 'Model reviewers' decide it"):
        DecideApprovalAction(review, approve=True, data={"threshold": 0.5}, user=outsider).execute()
    boss = User.objects.create_superuser("boss", password="x")
    inactive = User.objects.create_user("gone", is_staff=True, is_active=False)
    inactive.groups.add(Group.objects.get(name="Model reviewers"))
    assert [may_decide(user, "Model reviewers") for user in (reviewer, outsider, boss, inactive)] == [
        True,
        False,
        True,
        False,
    ]
    assert list(waiting_for(reviewer)) == [review]
    assert list(waiting_for(outsider)) == []
    assert list(waiting_for(boss)) == [review]
    review.refresh_from_db()
    assert review.status == TaskState.WAITING


def test_a_step_without_a_group_is_decided_with_the_approve_task_permission(
    db, django_capture_on_commit_callbacks
):
    flow = register_task_pipeline(
        "signed_off", {"sign": {"approval": {}}, "after": {"function": t.echo, "depends_on": ["sign"]}}
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow)
    sign = run.task_runs.get(task_name="sign")
    assert (sign.status, sign.approval_group, sign.next_attempt_at) == (TaskState.WAITING, "", None)
    assert timers() == []  # no timeout: it waits until someone decides
    clerk = User.objects.create_user("clerk", password="x", is_staff=True)
    with pytest.raises(PermissionDenied, match="only users with flowforge_admin.approve_task decide it"):
        DecideApprovalAction(sign, approve=True, user=clerk).execute()
    clerk.user_permissions.add(Permission.objects.get(codename="approve_task"))
    clerk = User.objects.get(pk=clerk.pk)  # Django caches permissions per user object
    assert list(waiting_for(clerk)) == [sign]
    DecideApprovalAction(sign, approve=True, user=clerk).execute()
    sign.refresh_from_db()
    assert (sign.status, sign.output) == (TaskState.SUCCEEDED, {})


def test_past_its_timeout_it_fails_once(waiting):
    run, review = waiting
    assert approvals.time_out(review.pk, 1) == 0  # early: not yet due
    TaskRun.objects.filter(pk=review.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert approvals.time_out(review.pk, 1) == 1
    assert approvals.time_out(review.pk, 1) == 0  # a repeated timer does nothing
    review.refresh_from_db()
    assert (review.status, review.error) == (
        TaskState.FAILED,
        "approval timed out after 3600 s: nobody approved or rejected it",
    )
    assert statuses(run)["deploy"] == TaskState.UPSTREAM_FAILED


def test_the_lost_work_check_leaves_a_waiting_step_alone_and_times_it_out_when_its_timer_was_lost(
    waiting, settings
):
    run, review = waiting
    assert recovery.check_lost_work() == 0
    review.refresh_from_db()
    assert review.status == TaskState.WAITING
    OrmQ.objects.all().delete()  # the timer is lost
    overdue = timezone.now() - datetime.timedelta(seconds=settings.FLOWFORGE_REQUEUE_AFTER_SECONDS + 5)
    TaskRun.objects.filter(pk=review.pk).update(next_attempt_at=overdue)
    assert recovery.check_lost_work() == 1
    review.refresh_from_db()
    assert review.status == TaskState.FAILED
    assert worker_messages() == []  # never sent to a worker as a sensor's check would be


def test_cancel_mark_and_clear_of_a_waiting_step(waiting, reviewer, django_capture_on_commit_callbacks):
    run, review = waiting
    with pytest.raises(InvalidTransition, match="is an approval step: its approvers approve or reject it"):
        mark_task(review, TaskState.SUCCEEDED, "skip the review")
    with django_capture_on_commit_callbacks(execute=True):
        clear_tasks(run, ["review"])
    review.refresh_from_db()
    # Asked again: a new wait, attempt 2, with a timer of its own; the first one's timer does nothing.
    assert (review.status, review.attempt) == (TaskState.WAITING, 2)
    TaskRun.objects.filter(pk=review.pk).update(next_attempt_at=timezone.now())
    assert approvals.time_out(review.pk, 1) == 0
    cancel_run(run)
    review.refresh_from_db()
    assert review.status == TaskState.CANCELLED
    assert approvals.time_out(review.pk, 2) == 0
    with pytest.raises(InvalidTransition, match="is cancelled: only an approval step that is waiting"):
        DecideApprovalAction(review, approve=True, data={"threshold": 0.5}, user=reviewer).execute()
    assert list(waiting_for(reviewer)) == []


def test_run_flow_fails_an_approval_step_at_once(db):
    flow = register_task_pipeline(
        "local_review", {"review": {"approval": {}}, "deploy": {"function": t.echo, "depends_on": ["review"]}}
    )
    run = run_flow(flow)
    assert run.status == RunState.FAILED
    review = run.task_runs.get(task_name="review")
    assert (review.status, review.error) == (TaskState.FAILED, approvals.LOCAL_ERROR)


def test_an_alert_is_raised_when_a_step_starts_waiting(db, django_capture_on_commit_callbacks, settings):
    settings.FLOWFORGE_FUNCTION_MODULES = ["tests.alerts"]
    flow = register_task_pipeline(
        "alerted_review",
        {"review": {"approval": {"group": "Model reviewers"}}},
        alerts=[{"on": ["task_waiting"], "callable": "tests.alerts.callables.page_oncall"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow)
    [delivery] = AlertDelivery.objects.all()
    review = run.task_runs.get(task_name="review")
    assert (delivery.event, delivery.run_id, delivery.task_run_id) == ("task_waiting", run.pk, review.pk)
    assert delivery.message == "waiting for approval by group 'Model reviewers'"
