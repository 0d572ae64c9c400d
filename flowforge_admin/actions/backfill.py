"""Backfill: one run of a schedule per fire time between two dates, oldest first.

Both entrances (the schedule's Backfill page in the admin and ``manage.py
backfill``) first ask :func:`plan_backfill` what would be created (the
preview), then run :class:`BackfillAction`, which plans again under the
schedule's lock and launches. Each run is a launch like any other
(:class:`BackfillRunAction`: the ``launch_flow`` permission, a launch event
in the run's history and, for a user, the admin log of the run and its
flow), triggered by ``backfill``, for its fire's logical date and data
interval, as the schedule's own fire would have made it. Launched oldest
first, the runs also start in that order under the flow's
``max_active_runs``. The backfill as a whole is one entry in the
schedule's admin log.
"""

import dataclasses
import datetime
import itertools

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..conf import get_setting
from ..definitions.params import paused_message
from ..engine.catchup import COUNT_CEILING, when
from ..engine.launch import launch
from ..engine.schedule_fire import fire_dates
from ..models import FlowRun, FlowSchedule
from .base import Action
from .runs import LAUNCH_PERMISSION, LaunchFlowAction

#: How many of the logical dates a preview lists.
PREVIEW_DATES = 5


def backfill_max_runs():
    return get_setting("FLOWFORGE_BACKFILL_MAX_RUNS")


@dataclasses.dataclass(frozen=True)
class BackfillPlan:
    """What a backfill of ``schedule`` from ``start`` to ``end`` creates: one run per ``fire_times``.

    ``existing`` counts the fire times in the span skipped because they
    already have a run of the schedule (0 when re-running them).
    """

    schedule: FlowSchedule
    start: datetime.datetime
    end: datetime.datetime
    rerun_existing: bool
    fire_times: list
    existing: int

    @property
    def count(self):
        return len(self.fire_times)

    def first_dates(self):
        """The first logical dates, as a preview lists them (UTC text)."""
        return [when(moment) for moment in self.fire_times[:PREVIEW_DATES]]

    def describe(self):
        """Say what the backfill will do, in one sentence (the preview's and the command's)."""
        span = f"from {when(self.start)} to {when(self.end)}"
        if self.count:
            words = f"{self.count} run(s) of schedule {self.schedule}, one per fire {span}, oldest first"
        else:
            words = f"no run of schedule {self.schedule}: it has no fire {span} to run"
        if self.existing:
            words += f"; {self.existing} fire(s) that already have a run are skipped"
        elif self.rerun_existing:
            words += "; fires that already have a run get another one"
        return f"Will create {words}."


def aware(moment, what):
    """Return ``moment`` aware (a naive one is in the current time zone); refuse what is not a datetime."""
    if not isinstance(moment, datetime.datetime):
        raise ValidationError(f"the {what} must be a date and time, not {moment!r}", code="bad_date")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def plan_backfill(schedule, start, end, *, rerun_existing=False):
    """Return the BackfillPlan of ``schedule`` from ``start`` to ``end`` (both included).

    Raise ValidationError, naming what is wrong, for an end before the start,
    an end in the future (those fires are the schedule's own to make), or
    more runs than ``FLOWFORGE_BACKFILL_MAX_RUNS``.
    """
    start, end = aware(start, "start"), aware(end, "end")
    if end < start:
        raise ValidationError(
            f"the end ({when(end)}) is before the start ({when(start)})", code="end_before_start"
        )
    if end > timezone.now():
        raise ValidationError(
            f"the end ({when(end)}) is in the future: the schedule makes its coming runs itself",
            code="end_in_future",
        )
    if schedule.flow.is_paused:
        raise ValidationError(paused_message(schedule.flow), code="flow_paused")
    taken = set()
    if not rerun_existing:
        runs = FlowRun.objects.filter(schedule=schedule, logical_date__range=(start, end))
        taken = set(runs.values_list("logical_date", flat=True))
    existing = []
    wanted = _without(schedule.iter_fire_times(start, end), taken, existing)
    limit = backfill_max_runs()
    fire_times = list(itertools.islice(wanted, limit + 1))
    if len(fire_times) > limit:
        more = sum(1 for _ in itertools.islice(wanted, COUNT_CEILING))
        count = f"more than {limit + COUNT_CEILING}" if more == COUNT_CEILING else str(limit + 1 + more)
        raise ValidationError(
            f"this backfill would create {count} runs, more than the limit of {limit} "
            "(FLOWFORGE_BACKFILL_MAX_RUNS): choose a shorter span",
            code="too_many_runs",
        )
    # Under the limit, the fire times were all read: ``existing`` holds every one skipped.
    return BackfillPlan(schedule, start, end, rerun_existing, fire_times, len(existing))


def _without(times, taken, skipped):
    """Yield the fire times not in ``taken``; append the others to ``skipped``."""
    for moment in times:
        if moment in taken:
            skipped.append(moment)
        else:
            yield moment


class BackfillRunAction(LaunchFlowAction):
    """Launch the run of one fire of ``schedule`` (its logical date and data interval), by backfill."""

    def __init__(self, schedule, fire_time, *, user=None, how=None):
        super().__init__(schedule.flow, schedule.params, user=user, how=how)
        self.schedule = schedule
        self.fire_time = fire_time

    def perform(self):
        return launch(
            self.schedule.flow,
            self.schedule.params,
            triggered_by=FlowRun.Trigger.BACKFILL,
            user=self.user,
            schedule=self.schedule,
            **fire_dates(self.schedule, self.fire_time),
        )


class BackfillAction(Action):
    """Backfill ``schedule`` from ``start`` to ``end``: every run or none (one transaction); return the runs.

    ``how`` says where it was asked ("from the admin"); each run's history
    says "Backfilled by schedule ... <how>".
    """

    permission = LAUNCH_PERMISSION

    def __init__(self, schedule, start, end, *, rerun_existing=False, user=None, how="from code"):
        super().__init__(user=user)
        self.schedule = schedule
        self.span = (start, end)
        self.rerun_existing = rerun_existing
        self.how = how

    def describe(self):
        return f"backfill schedule {self.schedule}"

    def perform(self):
        # Under the schedule's lock: a fire of it (which skips fire times that have a run) waits.
        schedule = FlowSchedule.objects.select_for_update().select_related("flow").get(pk=self.schedule.pk)
        self.plan = plan_backfill(schedule, *self.span, rerun_existing=self.rerun_existing)
        how = f"Backfilled by schedule {schedule} {self.how}"
        return [
            BackfillRunAction(schedule, moment, user=self.user, how=how).execute()
            for moment in self.plan.fire_times
        ]

    def log_entries(self, runs):
        plan = self.plan
        span = f"from {when(plan.start)} to {when(plan.end)}"
        if not runs:
            return [(self.schedule, f"Backfill {span}: no run to create.")]
        skipped = f"; {plan.existing} fire(s) that already had a run skipped" if plan.existing else ""
        return [
            (
                self.schedule,
                f"Backfilled {len(runs)} run(s), #{runs[0].pk} to #{runs[-1].pk}, for the fires {span}"
                f"{' (re-running those that had a run)' if plan.rerun_existing else ''}{skipped}.",
            )
        ]
