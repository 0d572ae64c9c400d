"""Keeping an attempt's outcome readable once a new attempt replaces it.

A task run holds the outcome (status, output, error, traceback, artifact) of
its current attempt only. Whatever starts a new attempt (a retry after a
failure or a lost worker, a re-run, a retry, a mark, a clear) first calls
:func:`keep` under the run's lock, in the same transaction: the outgoing
attempts become TaskAttempt rows and their artifacts move to them (the
files stay where they are). The log lines are kept per attempt already.

Cheap whatever the number of task runs: one ``INSERT ... SELECT`` and one
``UPDATE`` of the artifacts per 500 task runs, never a query per task. A
first attempt that succeeds (the engine's hot path) writes nothing here.

Retention: an earlier attempt's record and artifact live as long as their
task run. Deleting a run deletes them with it, and each deleted artifact
row removes its file after the commit (:mod:`flowforge_admin.artifacts.receivers`).
"""

import functools

from django.db import connection
from django.db.models import OuterRef, Subquery

from ..models import Artifact, TaskAttempt, TaskLog, TaskRun
from ..states import TaskState

CHUNK = 500

# What a replaced attempt's status says of it when no outcome is given: one
# replaced while queued or running was discarded (cancelled); one replaced
# while its retry was due had failed; a finished one keeps its status. A sensor
# replaced while waiting for its next check was discarded too.
DISCARDED = (TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING)


def keep(change, names, *, status=None, error=None, traceback=None):
    """Record the current attempt of each task run of ``names`` as a TaskAttempt, with its artifact.

    Left out: task runs that never began an attempt, pending ones (their
    attempt was recorded as they went back to pending) and those whose
    current attempt is recorded already. ``status``, ``error`` and
    ``traceback``, when given, are the attempt's outcome (a worker recording
    a failure that is retried); otherwise the task run's own.
    """
    names = list(names)
    given = (status is not None, error is not None, traceback is not None)
    if given[0]:
        status_params = [status]
    else:
        status_params = [TaskState.RETRYING, TaskState.FAILED, *DISCARDED, TaskState.CANCELLED]
    outcome = [value for value in (error, traceback) if value is not None]
    finished = TaskAttempt._meta.get_field("finished_at").get_db_prep_save(change.now, connection)
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        params = [*status_params, finished, *outcome, change.run.pk, *chunk, TaskState.PENDING]
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(*given, len(chunk)), params)
        _move_artifacts(change.run.pk, chunk)


@functools.lru_cache(maxsize=64)
def _insert_sql(given_status, given_error, given_traceback, count):
    """``INSERT INTO <attempts> SELECT ... FROM <task runs>``; parameters in the order of the select list."""
    quote = connection.ops.quote_name
    run, attempt, log = TaskRun._meta, TaskAttempt._meta, TaskLog._meta

    def col(opts, name):
        return quote(opts.get_field(name).column)

    def tr(name):
        return "tr." + col(run, name)

    status = (
        "%s"
        if given_status
        else (
            f"CASE WHEN {tr('status')} = %s THEN %s "
            f"WHEN {tr('status')} IN ({', '.join(['%s'] * len(DISCARDED))}) THEN %s "
            f"ELSE {tr('status')} END"
        )
    )
    # A retry's log opens with the line its worker wrote as it began; the
    # first attempt began at the task run's start.
    started = (
        f"CASE WHEN {tr('attempt')} = 1 THEN {tr('started_at')} ELSE "
        f"(SELECT MIN(l.{col(log, 'logged_at')}) FROM {quote(log.db_table)} l "
        f"WHERE l.{col(log, 'task_run')} = {tr('id')} AND l.{col(log, 'attempt')} = {tr('attempt')}) END"
    )
    select = {
        "task_run": tr("id"),
        "attempt": tr("attempt"),
        "status": status,
        "started_at": started,
        "finished_at": f"COALESCE({tr('finished_at')}, %s)",
        "output": tr("output"),
        "error": "%s" if given_error else tr("error"),
        "traceback": "%s" if given_traceback else tr("traceback"),
    }
    recorded = (
        f"SELECT 1 FROM {quote(attempt.db_table)} a WHERE a.{col(attempt, 'task_run')} = {tr('id')} "
        f"AND a.{col(attempt, 'attempt')} = {tr('attempt')}"
    )
    return (
        f"INSERT INTO {quote(attempt.db_table)} ({', '.join(col(attempt, name) for name in select)}) "
        f"SELECT {', '.join(select.values())} FROM {quote(run.db_table)} tr "
        f"WHERE {tr('run')} = %s AND {tr('task_name')} IN ({', '.join(['%s'] * count)}) "
        f"AND {tr('attempt')} >= 1 AND {tr('status')} <> %s AND NOT EXISTS ({recorded})"
    )


def _move_artifacts(run_id, names):
    """The current artifacts of task runs ``names`` go to their attempt's record (one update)."""
    record = TaskAttempt.objects.filter(task_run=OuterRef("task_run"), attempt=OuterRef("attempt"))
    Artifact.objects.filter(task_run__run_id=run_id, task_run__task_name__in=names).update(
        task_attempt=Subquery(record.values("pk")[:1]), task_run=None
    )
