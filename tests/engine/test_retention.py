"""FLOWFORGE_RUN_RETENTION_DAYS: a daily Django-Q2 schedule purges old finished runs; unset, there is none."""

import datetime

import pytest
from django.utils import timezone
from django_q.models import Schedule

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.engine import retention
from flowforge_admin.models import FlowRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db


def test_there_is_no_schedule_after_migrate_while_the_setting_is_unset():
    assert not Schedule.objects.filter(name=retention.SCHEDULE_NAME).exists()


def test_the_schedule_exists_exactly_while_the_setting_is_set(settings):
    settings.FLOWFORGE_RUN_RETENTION_DAYS = 30
    retention.ensure_schedule()
    retention.ensure_schedule()
    schedule = Schedule.objects.get(name=retention.SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        retention.SCHEDULE_FUNC,
        Schedule.DAILY,
        -1,
    )
    settings.FLOWFORGE_RUN_RETENTION_DAYS = None
    retention.ensure_schedule()
    assert not Schedule.objects.filter(name=retention.SCHEDULE_NAME).exists()


def test_the_scheduled_purge_deletes_what_the_setting_says(settings, django_capture_on_commit_callbacks):
    flow = register_task_pipeline("kept_a_while", {"echo": {"function": t.echo}})
    with django_capture_on_commit_callbacks(execute=True):
        old, recent = run_flow(flow), run_flow(flow)
    moment = timezone.now() - datetime.timedelta(days=8)
    FlowRun.objects.filter(pk=old.pk).update(created_at=moment, finished_at=moment)

    assert retention.purge_expired_runs() == "FLOWFORGE_RUN_RETENTION_DAYS is not set: nothing purged"
    settings.FLOWFORGE_RUN_RETENTION_DAYS = 7
    assert retention.purge_expired_runs().startswith("Deleted 1 run, 1 task run,")
    assert list(FlowRun.objects.values_list("pk", flat=True)) == [recent.pk]
    settings.FLOWFORGE_RUN_RETENTION_DAYS = "a week"
    with pytest.raises(
        ValueError, match="FLOWFORGE_RUN_RETENTION_DAYS 'a week' is not a positive whole number"
    ):
        retention.purge_expired_runs()


def test_a_purge_with_a_time_limit_stops_after_the_batch_that_passes_it(django_capture_on_commit_callbacks):
    flow = register_task_pipeline("many", {"echo": {"function": t.echo}})
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            run_flow(flow)
    moment = timezone.now() - datetime.timedelta(days=8)
    FlowRun.objects.update(created_at=moment, finished_at=moment)
    result = retention.purge_runs(7, batch_size=1, time_limit=0)
    assert (result.runs, result.finished, FlowRun.objects.count()) == (1, False, 2)
    assert result.describe().endswith("; stopped at its time limit, the rest goes next time")
