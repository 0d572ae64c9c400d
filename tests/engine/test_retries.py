"""The retry policy (engine/retries.py): attempts, delays, lost attempts; and one run through the engine."""

import pytest
from django.test import override_settings

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.engine import retries
from flowforge_admin.models import TaskRun
from flowforge_admin.states import TaskState

from .. import engine_tasks as t
from .conftest import side_effects

TASK = {"retries": 2, "retry_delay": 10}


def test_a_task_has_its_retries_plus_one_attempts():
    assert retries.attempts_allowed(TASK) == 3
    assert retries.attempts_allowed({"retries": 0}) == 1


def test_a_failed_attempt_retries_until_the_allowed_ones_are_used():
    assert retries.may_retry(1, 0, 3)
    assert retries.may_retry(2, 0, 3)
    assert not retries.may_retry(3, 0, 3)
    # A lost attempt (its worker died) does not count.
    assert retries.may_retry(3, 1, 3)


def test_the_delay_doubles_within_a_round():
    assert [retries.retry_delay(TASK, attempt, 0, 3) for attempt in (1, 2)] == [10, 20]
    # Lost attempts do not count in the doubling either.
    assert retries.retry_delay(TASK, 2, 1, 3) == 10
    # A re-run after 3 attempts allows 3 more (max_attempts 6): its first retry waits 10 s again.
    assert retries.retry_delay(TASK, 4, 0, 6) == 10
    assert retries.retry_delay({"retries": 1, "retry_delay": 0}, 1, 0, 2) == 0


@override_settings(FLOWFORGE_MAX_LOST_ATTEMPTS=3)
def test_lost_attempts_are_given_a_new_one_up_to_the_limit():
    assert retries.may_requeue_lost(2)
    assert not retries.may_requeue_lost(3)


@pytest.mark.django_db
def test_a_reopened_task_gets_its_attempts_again_from_where_it_is():
    flow = register_task_pipeline("reopened", {"a": {"function": t.work}})
    run = run_flow(flow)
    TaskRun.objects.filter(run=run).update(attempt=4, lost_attempts=1, max_attempts=3)
    TaskRun.objects.filter(run=run).update(max_attempts=retries.attempts_after_reopen(2))
    assert TaskRun.objects.get(run=run).max_attempts == 4 - 1 + 2 + 1


@pytest.mark.django_db
def test_a_flaky_task_is_retried_through_the_engine(marker_dir):
    flow = register_task_pipeline("flaky", {"flaky": {"function": t.fail_first, "retries": 2}})
    run = run_flow(flow, {"marker_dir": str(marker_dir), "failures": 2})
    task_run = run.task_runs.get()
    assert (task_run.status, task_run.attempt, task_run.max_attempts) == (TaskState.SUCCEEDED, 3, 3)
    assert side_effects(marker_dir) == [f"flaky attempt {n}" for n in (1, 2, 3)]


@pytest.mark.django_db
def test_a_task_out_of_retries_fails(marker_dir):
    flow = register_task_pipeline("too_flaky", {"flaky": {"function": t.fail_first, "retries": 1}})
    run = run_flow(flow, {"marker_dir": str(marker_dir), "failures": 2})
    task_run = run.task_runs.get()
    assert (task_run.status, task_run.attempt) == (TaskState.FAILED, 2)
