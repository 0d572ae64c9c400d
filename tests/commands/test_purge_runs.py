"""`manage.py purge_runs --older-than DAYS [--flow NAME] [--status S] [--dry-run] [--batch-size N] [--user U]`."""

import datetime
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.admin.models import DELETION, LogEntry
from django.core.management import CommandError, call_command
from django.utils import timezone

from flowforge_admin.api import launch_flow, register_task_pipeline, run_flow
from flowforge_admin.artifacts.storage import get_storage
from flowforge_admin.engine.retention import owned_models
from flowforge_admin.models import (
    AlertDelivery,
    Artifact,
    FlowRun,
    Metric,
    RunEvent,
    RunSnapshot,
    TaskAttempt,
    TaskLog,
    TaskRun,
)
from flowforge_admin.states import RunState

from .. import data_tasks as d
from .. import engine_tasks as t
from ..engine.cluster import process_env

pytestmark = pytest.mark.django_db

TABLES = [FlowRun, RunSnapshot, TaskRun, TaskLog, TaskAttempt, Artifact, Metric, RunEvent]


def counts():
    return {model.__name__: model.objects.count() for model in TABLES}


def age(runs, days):
    """Make ``runs`` created (and, if finished, finished) ``days`` days ago."""
    moment = timezone.now() - datetime.timedelta(days=days)
    FlowRun.objects.filter(pk__in=[run.pk for run in runs]).update(created_at=moment)
    FlowRun.objects.filter(pk__in=[run.pk for run in runs], finished_at__isnull=False).update(
        finished_at=moment
    )


@pytest.fixture
def runs(django_capture_on_commit_callbacks, tmp_path):
    """Old runs: 2 succeeded and 1 failed of "work" (logs, an artifact), 1 cancelled of "other";
    queued, running and held ones of "work"; and one succeeded yesterday."""
    work = register_task_pipeline(
        "work",
        {
            "talk": {"function": t.talk, "params": {"seconds": 0, "lines": 2}},
            "array": {"function": d.array, "depends_on": ["talk"]},
            "check": {"function": t.fail_first, "depends_on": ["array"], "retries": 1, "retry_delay": 0},
        },
    )
    other = register_task_pipeline("other", {"talk": {"function": t.talk, "params": {"seconds": 0}}})
    with django_capture_on_commit_callbacks(execute=True):
        done = [run_flow(work, {"marker_dir": str(tmp_path)}) for _ in range(2)]
        failed = run_flow(work, {"marker_dir": str(tmp_path / "missing")})
        cancelled = launch_flow(other)
    FlowRun.objects.filter(pk=cancelled.pk).update(status=RunState.CANCELLED, finished_at=timezone.now())
    queued = launch_flow(work)
    running = launch_flow(work)
    FlowRun.objects.filter(pk=running.pk).update(status=RunState.RUNNING, started_at=timezone.now())
    held = launch_flow(work)
    age([*done, failed, cancelled, queued, running, held], days=40)
    with django_capture_on_commit_callbacks(execute=True):
        recent = run_flow(work, {"marker_dir": str(tmp_path)})
    age([recent], days=1)
    # After the run above: its end would admit a held run (there is no max_active_runs here).
    FlowRun.objects.filter(pk=held.pk).update(held=True)
    assert [run.refresh_from_db() or run.status for run in [*done, failed]] == ["succeeded"] * 2 + ["failed"]
    return {
        "done": done,
        "failed": failed,
        "cancelled": cancelled,
        "unfinished": [queued, running, held],
        "recent": recent,
    }


def purge(*args, capture=None):
    out = StringIO()
    if capture is None:
        call_command("purge_runs", *args, stdout=out)
    else:
        with capture(execute=True):
            call_command("purge_runs", *args, stdout=out)
    return out.getvalue()


def test_it_deletes_old_finished_runs_with_all_they_own_and_their_files(
    runs, django_capture_on_commit_callbacks
):
    purged = [*runs["done"], runs["failed"], runs["cancelled"]]
    paths = list(Artifact.objects.filter(task_run__run__in=purged).values_list("path", flat=True))
    assert len(paths) == 3
    assert all(get_storage().exists(path) for path in paths)
    kept = [*runs["unfinished"], runs["recent"]]
    before = counts()
    owned_by_kept = {
        "TaskRun": TaskRun.objects.filter(run__in=kept).count(),
        "TaskLog": TaskLog.objects.filter(task_run__run__in=kept).count(),
        "TaskAttempt": TaskAttempt.objects.filter(task_run__run__in=kept).count(),
    }

    out = purge("--older-than", "30", capture=django_capture_on_commit_callbacks)

    after = counts()
    assert after["FlowRun"] == before["FlowRun"] - 4 == len(kept)
    assert after["RunSnapshot"] == len(kept)
    assert {k: after[k] for k in owned_by_kept} == owned_by_kept
    assert after["Artifact"] == before["Artifact"] - 3
    assert after["RunEvent"] == RunEvent.objects.filter(run__in=kept).count()
    assert not FlowRun.objects.filter(pk__in=[run.pk for run in purged]).exists()
    assert not any(get_storage().exists(path) for path in paths)
    deleted_logs = before["TaskLog"] - after["TaskLog"]
    assert out.strip() == (
        f"Deleted 4 runs, {before['TaskRun'] - after['TaskRun']} task runs, {deleted_logs} log lines, "
        f"3 artifacts (files removed), {before['TaskAttempt'] - after['TaskAttempt']} earlier attempts, "
        f"4 run events, 4 run snapshots"
    )


def test_runs_that_are_not_finished_are_never_deleted_however_old(runs):
    FlowRun.objects.filter(pk__in=[run.pk for run in runs["unfinished"]]).update(
        finished_at=timezone.now() - datetime.timedelta(days=90)
    )
    purge("--older-than", "1")
    assert set(FlowRun.objects.values_list("status", "held")) == {
        (RunState.QUEUED, False),
        (RunState.RUNNING, False),
        (RunState.QUEUED, True),
    }


def test_flow_and_status_choose_which_runs_go(runs):
    out = purge("--older-than", "30", "--flow", "work", "--status", "failed")
    assert out.startswith("Deleted 1 run, 3 task runs,")
    assert not FlowRun.objects.filter(pk=runs["failed"].pk).exists()
    purge("--older-than", "30", "--flow", "other")
    assert not FlowRun.objects.filter(pk=runs["cancelled"].pk).exists()
    assert FlowRun.objects.filter(pk__in=[run.pk for run in runs["done"]]).count() == 2


def test_a_dry_run_counts_and_changes_nothing(runs):
    before = counts()
    out = purge("--older-than", "30", "--dry-run")
    assert counts() == before
    assert out.startswith("Would delete 4 runs, 10 task runs, ")
    assert "3 artifacts (files would be removed)" in out
    assert out.endswith("dry run: nothing deleted\n")


def test_batches_smaller_than_the_runs_purge_them_all(runs):
    out = purge("--older-than", "30", "--batch-size", "1")
    assert out.startswith("Deleted 4 runs,")
    assert FlowRun.objects.count() == 4


def test_a_users_purge_is_one_summary_in_the_admin_log(runs, admin_user):
    purge("--older-than", "30", "--status", "cancelled", "--user", admin_user.username)
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag, entry.content_type.model) == (admin_user, DELETION, "flowrun")
    assert entry.change_message.startswith(
        "Purged runs finished more than 30 days ago, cancelled: Deleted 1 run, 1 task run,"
    )


def test_alert_records_and_any_later_model_go_by_their_cascade():
    """The models deleted with a run are read from the relations: nothing to list by hand."""
    found = {model.__name__: lookups for model, lookups in owned_models()}
    assert found["TaskLog"] == ["task_run__run"]
    assert sorted(found["Artifact"]) == ["task_attempt__task_run__run", "task_run__run"]
    assert sorted(found["Metric"]) == ["run", "task_run__run"]
    assert "run" in found["AlertDelivery"]
    names = list(found)
    assert names.index("Artifact") < names.index("TaskAttempt") < names.index("TaskRun")


def test_old_alert_deliveries_of_skipped_schedule_fires_go_by_age(runs):
    """A skipped fire's delivery has no run to cascade from: it goes by its own age, with its flow."""
    old, recent, other_flow = (
        AlertDelivery.objects.create(flow_name=flow, event="schedule_skipped", channel="webhook")
        for flow in ("work", "work", "other")
    )
    moment = timezone.now() - datetime.timedelta(days=40)
    AlertDelivery.objects.filter(pk__in=[old.pk, other_flow.pk]).update(created_at=moment)

    call_command("purge_runs", "--older-than", "30", "--status", "failed", stdout=StringIO())
    assert AlertDelivery.objects.count() == 3  # a purge of chosen statuses leaves them
    out = StringIO()
    call_command("purge_runs", "--older-than", "30", "--flow", "work", stdout=out)

    assert set(AlertDelivery.objects.values_list("pk", flat=True)) == {recent.pk, other_flow.pk}
    assert "1 alert delivery" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "0"], "--older-than '0' is not a positive whole number of days"),
        (["--older-than", "ten"], "--older-than 'ten' is not a positive whole number of days"),
        (["--older-than", "3", "--flow", "nope"], "--flow 'nope': there is no flow (nor any run of a flow)"),
        (["--older-than", "3", "--status", "done"], "--status 'done' is not a run status"),
        (["--older-than", "3", "--status", "running"], "--status 'running': only finished runs are purged"),
        (["--older-than", "3", "--batch-size", "-5"], "--batch-size '-5' is not a positive whole number"),
    ],
)
def test_bad_input_exits_2_and_deletes_nothing(runs, args, message):
    before = counts()
    with pytest.raises(CommandError, match="^" + message.replace("(", r"\(").replace(")", r"\)")) as caught:
        purge(*args)
    assert caught.value.returncode == 2
    assert counts() == before


def test_from_the_shell_bad_input_is_a_message_and_exit_2_without_a_traceback():
    result = subprocess.run(
        [sys.executable, "manage.py", "purge_runs", "--older-than", "-1"],
        cwd=settings.BASE_DIR,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "CommandError: --older-than '-1' is not a positive whole number of days"


def test_a_user_without_the_delete_permission_is_refused_with_exit_2(runs, role_user):
    operator = role_user("Operator")
    before = counts()
    with pytest.raises(CommandError) as caught:
        purge("--older-than", "30", "--user", operator.username)
    assert caught.value.returncode == 2
    assert str(caught.value) == (
        f"{operator} may not purge runs older than 30 days: flowforge_admin.delete_flowrun is needed"
    )
    assert counts() == before
