"""What a schedule does when it fires: launch a run of its flow, or record why not.

Django-Q2's scheduler calls :func:`fire` with the FlowSchedule's id only
(see :mod:`flowforge_admin.q_schedules`); everything else is read here, under
the schedule's row lock, so a fire and an edit cannot cross.

A fire is an entrance, like a command with no user: the run it launches gets
a launch event in its own history (RunEvent), as the actions' launches do
(:mod:`flowforge_admin.actions.runs`, which the engine must not import).
"""

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..alerts.watch import schedule_skipped_on_commit
from ..exceptions import InvalidTransition, refusal_message
from ..models import FlowRun, FlowSchedule, RunEvent
from ..models.events import launch_message
from ..states import RUN_CANCELLABLE
from . import catchup
from .launch import launch

logger = logging.getLogger("flowforge_admin.engine")


def fire(schedule_id, intended_date=None):
    """Launch the schedule's run (unless paused, skipped by its overlap policy, or already run); return it.

    ``intended_date`` is the time the scheduler found the row due for (ISO
    8601, Django-Q2's ``intended_date_kwarg``): the run's logical date, and
    the end of its data interval, which starts at the fire time before it.
    Without it (a row from before migration 0011) the run is for now.

    A fire delivered late (no cluster ran while it was due) stands for every
    fire time from its own to now: with the schedule's ``catchup`` off, only
    the latest of them gets a run; with it on, each gets one, oldest first,
    up to ``FLOWFORGE_CATCHUP_MAX_RUNS`` (the newest ones; the older are
    skipped and counted). A fire time that already has a run of this schedule
    (Django-Q2 delivering missed fires one by one, with its ``catch_up`` on,
    or a backfill) gets no second one. With several runs, the last is returned.
    """
    with transaction.atomic():
        schedule = (
            # Not the Django-Q2 row: PostgreSQL cannot lock the nullable side of its outer join.
            FlowSchedule.objects.select_for_update(of=("self", "flow"))
            .select_related("flow", "q_schedule")
            .filter(pk=schedule_id)
            .first()
        )
        if schedule is None:
            logger.info("schedule %s fired but no longer exists", schedule_id)
            return None
        if not schedule.is_active:
            return _skip(schedule, "the schedule or its flow is paused")
        due = catchup.due_fires(schedule, _fire_time(intended_date), timezone.now())
        if not due.to_launch:
            return _skip(schedule, due.message, missed=due.missed)
        if schedule.overlap == FlowSchedule.Overlap.SKIP:
            busy = (
                FlowRun.objects.filter(flow=schedule.flow, status__in=RUN_CANCELLABLE)
                .order_by("-created_at")
                .values_list("pk", "status")
                .first()
            )
            if busy:
                return _skip(schedule, f"run #{busy[0]} of this flow is still {busy[1]}")
        runs = []
        for fire_time in due.to_launch:
            run = launch_now(schedule, fire_time=fire_time)
            if run is None:
                # Refused (the schedule's record says why): the next fire times would be refused alike.
                return runs[-1] if runs else None
            message = launch_message(f"Launched by schedule {schedule}", run.params)
            RunEvent.objects.create(run=run, action=RunEvent.Action.LAUNCH, message=message)
            runs.append(run)
        if runs and (len(runs) > 1 or due.missed):
            # Over launch_now's own record of the last run: what the whole fire did.
            words = "; ".join(filter(None, [catchup.launched_words(runs), due.message]))
            _record(
                schedule, FlowSchedule.Outcome.LAUNCHED, words, skipped_count=F("skipped_count") + due.missed
            )
            if due.missed:
                schedule_skipped_on_commit(schedule.flow_id, schedule.pk, due.message)
        return runs[-1] if runs else None


def _fire_time(intended_date):
    if not intended_date:
        return None
    parsed = datetime.datetime.fromisoformat(intended_date)
    return timezone.make_aware(parsed, datetime.UTC) if timezone.is_naive(parsed) else parsed


def launch_now(schedule, fire_time=None):
    """Launch a run of ``schedule`` with its parameters, recorded as triggered by it ("Run now" too).

    ``fire_time`` is the fire the run stands for (its logical date, with the
    interval since the fire before); None ("Run now"): a run for now, with no interval.
    """
    dates = fire_dates(schedule, fire_time) if fire_time is not None else {}
    try:
        run = launch(
            schedule.flow,
            schedule.params,
            triggered_by=FlowRun.Trigger.SCHEDULE,
            schedule=schedule,
            **dates,
        )
    except (ValidationError, InvalidTransition) as error:
        message = refusal_message(error)
        _record(schedule, FlowSchedule.Outcome.FAILED, message)
        logger.warning("schedule %s could not launch: %s", schedule, message)
        return None
    _record(schedule, FlowSchedule.Outcome.LAUNCHED, f"launched run #{run.pk}", last_run=run)
    return run


def fire_dates(schedule, fire_time):
    """The launch's dates for the run of one fire: its logical date and the interval since the fire before."""
    previous = schedule.previous_fire_time(fire_time)
    return {"logical_date": fire_time, "data_interval": (previous, fire_time) if previous else None}


def _skip(schedule, reason, missed=1):
    logger.info("schedule %s skipped a fire: %s", schedule, reason)
    _record(
        schedule,
        FlowSchedule.Outcome.SKIPPED,
        f"skipped: {reason}",
        skipped_count=F("skipped_count") + missed,
    )
    schedule_skipped_on_commit(schedule.flow_id, schedule.pk, f"skipped: {reason}")
    return None


def _record(schedule, outcome, message, **fields):
    # An update, not save(): the schedule's definition (and its Django-Q2 row) stays as it is.
    FlowSchedule.objects.filter(pk=schedule.pk).update(
        last_fired_at=timezone.now(), last_outcome=outcome, last_message=message[:300], **fields
    )
