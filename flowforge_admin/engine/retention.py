"""Retention: deleting finished runs older than some days, with everything they own, in short batches.

A run owns its task runs, their log lines, attempts and artifacts, its
snapshot, events, metrics, tags, and whatever else has a foreign key to it
(or to what it owns) with ``on_delete=CASCADE``: those relations are found
from the models, not listed here, so a model added later (alert records, say)
goes with its run with no change to this module. Alert deliveries of no run
(a schedule's skipped fires) go by their own age, after the runs.

Each batch is one short transaction: its children are deleted table by table
with one ``DELETE ... WHERE <parent> IN (the batch's runs)`` each (Django's
fast delete: no row is loaded, except artifacts, whose ``post_delete``
receiver removes their files after the commit), then the runs. Nothing waits
on a lock for longer than one batch takes, so a flow that keeps running is
barely slowed (bench/bench_purge.py), and memory does not grow with the
number of runs or log lines.

Only finished runs are deleted, and their status is read again inside each
batch's transaction (with the rows locked where the database can), so a run
that a re-run or a retry has just queued again is kept.

:func:`purge_expired_runs` is the daily Django-Q2 schedule of
``FLOWFORGE_RUN_RETENTION_DAYS`` (see :func:`ensure_schedule`).
"""

import dataclasses
import datetime
import logging
import time

from django.db import models, transaction
from django.db.models import Q, signals
from django.dispatch import receiver
from django.utils import timezone
from django_q.models import Schedule

from ..conf import get_setting
from ..models import AlertDelivery, Artifact, FlowRun, TaskLog, TaskRun
from ..states import RUN_FINISHED

logger = logging.getLogger("flowforge_admin.retention")

BATCH_SIZE = 500
# After each batch the purge rests this many times as long as the batch took: it keeps the
# database (SQLite's one write lock, PostgreSQL's disk) and a core busy a seventh of the time
# at most. Measured (bench/README.md): a running flow's hops took 1.5 times as long with no rest,
# 1.2 with 4, 1.1 with 6, on a 2-core machine. 100 000 runs then go in about 3 minutes.
REST = 6
# The daily schedule stops after this long (the rest goes the next day): it runs on a worker,
# which Django-Q2 would kill at the cluster's timeout, and which other tasks may need.
SCHEDULE_SECONDS = 600
SCHEDULE_NAME = "flowforge: run retention"
SCHEDULE_FUNC = "flowforge_admin.engine.retention.purge_expired_runs"


def check_days(days, what="--older-than"):
    """Return ``days`` as a positive int; raise ValueError naming ``what`` otherwise."""
    if isinstance(days, bool) or not isinstance(days, int | str):
        raise ValueError(f"{what} {days!r} is not a positive whole number of days")
    text = str(days).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{what} {days!r} is not a positive whole number of days")
    return int(text)


def expired_runs(days, *, flows=(), statuses=(), now=None):
    """Return the finished runs whose finish (or, unset, creation) is more than ``days`` days old.

    A run is created before it finishes, so ``created_at`` before the cutoff
    is implied: it lets the ``(status, -created_at)`` index find them, and
    ``finished_at`` only filters what that finds (no index of its own needed).
    """
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    runs = FlowRun.objects.filter(
        Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True),
        status__in=sorted(statuses or RUN_FINISHED),
        created_at__lt=cutoff,
    )
    if flows:
        runs = runs.filter(flow_name__in=sorted(flows))
    return runs.order_by()


def expired_runless_deliveries(days, *, flows=(), statuses=(), now=None):
    """Alert deliveries of no run (a schedule's skipped fires) created more than ``days`` days ago.

    They belong to their schedule, not to a run, so no run's cascade takes
    them; they go by age with the runs of their flow. A purge of chosen
    statuses leaves them (they have no run status).
    """
    if statuses:
        return AlertDelivery.objects.none()
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    deliveries = AlertDelivery.objects.filter(run__isnull=True, created_at__lt=cutoff)
    if flows:
        deliveries = deliveries.filter(flow_name__in=sorted(flows))
    return deliveries.order_by()


def _purge_runless_deliveries(deliveries, result, batch_size):
    """Delete ``deliveries`` ``batch_size`` at a time (nothing points at them: one DELETE each)."""
    while batch := list(deliveries.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            deleted = AlertDelivery.objects.filter(pk__in=batch)._raw_delete(AlertDelivery.objects.db)
        result.counts[AlertDelivery] = result.counts.get(AlertDelivery, 0) + deleted
        if len(batch) < batch_size:
            break


def owned_models():
    """Return ``[(model, [lookup to the run, ...]), ...]``, children before their parents.

    Found by walking every relation whose ``on_delete`` is CASCADE down from
    FlowRun. A model reached by two paths (a metric: by its run and by its
    task run) is listed once, with both.
    """
    order, paths = [], {}

    def walk(model, path):
        for relation in model._meta.get_fields(include_hidden=True):
            if not (relation.auto_created and not relation.concrete and relation.is_relation):
                continue
            if relation.many_to_many or relation.on_delete is not models.CASCADE:
                continue  # SET_NULL and the like: the run's own delete takes care of them
            child = relation.related_model
            child_path = f"{relation.field.name}__{path}" if path else relation.field.name
            walk(child, child_path)
            paths.setdefault(child, []).append(child_path)
            if child not in order:
                order.append(child)

    walk(FlowRun, "")
    return [(model, paths[model]) for model in order]


def _owned_by(model, lookups, runs):
    """The rows of ``model`` that the runs ``runs`` (ids, or a query of them) own."""
    if model is FlowRun:
        return FlowRun._base_manager.filter(pk__in=runs)
    condition = Q()
    for lookup in lookups:
        # On the run's id (the join is trimmed: run_id), not the run: Django then checks the values as numbers, not as runs.
        condition |= Q(**{f"{lookup}__id__in": runs})
    return model._base_manager.filter(condition)


def _reverse_relations(model):
    return [
        relation
        for relation in model._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and relation.is_relation
        and not relation.many_to_many
    ]


def _plain_delete(model):
    """Whether ``model``'s rows may go with one DELETE once the rows they own are gone.

    Not when a receiver wants each deleted row (an artifact's removes its
    file), nor when a relation to it asks for more than a cascade (already
    done) or SET NULL (done by :func:`_delete`): Django's collector then
    does it, loading the rows.
    """
    if signals.pre_delete.has_listeners(model) or signals.post_delete.has_listeners(model):
        return False
    return all(
        relation.on_delete in (models.CASCADE, models.SET_NULL, models.DO_NOTHING)
        for relation in _reverse_relations(model)
    )


def _delete(model, rows):
    """Delete ``rows`` of ``model`` (what they own is gone already); return how many."""
    if not _plain_delete(model):
        _, deleted = rows.delete()
        return deleted.get(model._meta.label, 0)
    for relation in _reverse_relations(model):
        if relation.on_delete is models.SET_NULL:  # a schedule's last run, say
            field = relation.field.name
            relation.related_model._base_manager.filter(**{f"{field}__in": rows.values("pk")}).update(
                **{field: None}
            )
    # What Django's collector does for a model nothing else points at: one DELETE, no rows loaded.
    return rows._raw_delete(rows.db)


@dataclasses.dataclass
class PurgeResult:
    """What a purge deleted (or, dry, would delete): {model: rows}, runs first."""

    counts: dict
    dry_run: bool = False
    batches: int = 0
    finished: bool = True  # False: it stopped at its time limit, with more to delete

    @property
    def runs(self):
        return self.counts.get(FlowRun, 0)

    def describe(self):
        """ "Deleted 1 234 runs, 12 340 task runs, 98 765 log lines, 12 artifacts (files removed)"."""
        parts = []
        for model in sorted(self.counts, key=_display_rank):
            count = self.counts[model]
            if not count and model not in (FlowRun, TaskRun, TaskLog, Artifact):
                continue
            part = f"{number(count)} {_kind(model, count)}"
            if model is Artifact and count:
                part += " (files would be removed)" if self.dry_run else " (files removed)"
            parts.append(part)
        more = "" if self.finished else "; stopped at its time limit, the rest goes next time"
        return ("Would delete " if self.dry_run else "Deleted ") + ", ".join(parts) + more


def _kind(model, count):
    if model is FlowRun:  # "flow runs" says less than "runs" here
        return "run" if count == 1 else "runs"
    return model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural


def _display_rank(model):
    main = [FlowRun, TaskRun, TaskLog, Artifact]
    return (main.index(model) if model in main else len(main), model._meta.verbose_name_plural)


def number(count):
    """12345 -> "12 345" (the thin grouping of the README and the bench)."""
    return f"{count:,}".replace(",", " ")


def purge_runs(
    days, *, flows=(), statuses=(), dry_run=False, batch_size=BATCH_SIZE, now=None, time_limit=None
):
    """Delete the runs :func:`expired_runs` selects, ``batch_size`` runs per transaction; return a PurgeResult.

    After each batch it rests :data:`REST` times as long as the batch took,
    so that the writers that waited get their turn at once (a file lock, as
    SQLite's writers here take, is not fair to waiters) and a running flow
    is barely slowed. With ``time_limit`` (seconds), it stops after the
    batch that passes it; ``PurgeResult.finished`` then says False.
    """
    expired = expired_runs(days, flows=flows, statuses=statuses, now=now)
    runless = expired_runless_deliveries(days, flows=flows, statuses=statuses, now=now)
    plan = [*owned_models(), (FlowRun, ["pk"])]
    if dry_run:
        ids = expired.values("pk")
        counts = {model: _owned_by(model, lookups, ids).count() for model, lookups in plan}
        counts[AlertDelivery] = counts.get(AlertDelivery, 0) + runless.count()
        return PurgeResult(counts, dry_run=True)
    result = PurgeResult(dict.fromkeys((model for model, _ in plan), 0))
    last, deadline = 0, None if time_limit is None else time.monotonic() + time_limit
    while True:
        # Outside the transaction: a read, which takes no lock.
        batch = list(expired.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            break
        last = batch[-1]
        started = time.monotonic()
        with transaction.atomic():
            # Read again under this transaction's lock: a run queued again since is not finished.
            # SKIP LOCKED: a run the engine is changing right now waits for the next purge.
            ids = list(
                expired.filter(pk__in=batch)
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)
            )
            for model, lookups in plan if ids else ():
                result.counts[model] += _delete(model, _owned_by(model, lookups, ids))
        result.batches += 1
        if len(batch) < batch_size:
            break
        if deadline is not None and time.monotonic() > deadline:
            result.finished = False
            break
        time.sleep(REST * (time.monotonic() - started))
    if result.finished:
        _purge_runless_deliveries(runless, result, batch_size)
    logger.info("purge of runs finished more than %s days ago: %s", days, result.describe())
    return result


def purge_expired_runs():
    """The daily schedule: purge the runs older than FLOWFORGE_RUN_RETENTION_DAYS (none when unset)."""
    days = get_setting("FLOWFORGE_RUN_RETENTION_DAYS")
    if days is None:
        return "FLOWFORGE_RUN_RETENTION_DAYS is not set: nothing purged"
    days = check_days(days, "FLOWFORGE_RUN_RETENTION_DAYS")
    return purge_runs(days, time_limit=SCHEDULE_SECONDS).describe()


def ensure_schedule():
    """Keep the daily retention schedule in step with FLOWFORGE_RUN_RETENTION_DAYS: present iff it is set."""
    if get_setting("FLOWFORGE_RUN_RETENTION_DAYS") is None:
        Schedule.objects.filter(name=SCHEDULE_NAME).delete()
        return
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": Schedule.DAILY, "repeats": -1},
    )


@receiver(signals.post_migrate, dispatch_uid="flowforge_admin.ensure_retention_schedule")
def ensure_schedule_after_migrate(sender, **kwargs):
    """Make sure of (or remove) the retention schedule after every migrate of this app."""
    if sender.label == "flowforge_admin":
        ensure_schedule()
