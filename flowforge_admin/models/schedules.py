"""Flow schedules: when a flow runs by itself, with which parameters.

A FlowSchedule owns exactly one Django-Q2 ``Schedule`` row (written in the
same transaction by :mod:`flowforge_admin.q_schedules`), which only says
*when* to call the engine with the schedule's id. Everything else (paused,
parameters, overlap policy, what happened at the last fire) lives here, so
the two can never disagree about it.
"""

import datetime
import itertools

from croniter import CroniterBadDateError, CroniterError, croniter
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import q_schedules
from .flows import Flow
from .runs import FlowRun

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


# Django-Q2 keeps the interval in Schedule.minutes, a PositiveSmallIntegerField (about 22 days).
EVERY_MINUTES_MAX = 32767

CRON_FIELDS_HELP = "minute hour day-of-month month day-of-week (e.g. 0 2 * * 1-5)"


def cron_problem(expression):
    """Return why ``expression`` cannot time a schedule, or None.

    croniter accepts expressions that no date matches (``0 0 31 2 *``) and
    only fails when asked for the next time, which every save and page of the
    schedule does: so the next time is looked for here, once.
    """
    fields = expression.split()
    if len(fields) != 5:
        return (
            f"{expression!r} is not a valid cron expression: it has {len(fields)} field(s); "
            f"give five, {CRON_FIELDS_HELP}."
        )
    try:
        croniter(expression, timezone.now()).get_next(datetime.datetime)
    except CroniterBadDateError:
        return (
            f"{expression!r} never fires: no date matches it "
            "(such as day 31 of a month that has 30 days or fewer)."
        )
    except (CroniterError, ValueError, TypeError, KeyError, IndexError, OverflowError) as error:
        return f"{expression!r} is not a valid cron expression: {_bad_cron_field(fields) or error}."
    return None


CRON_FIELD_RANGES = [
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-6 or SUN-SAT"),
]


def _bad_cron_field(fields):
    """Name the first field that is wrong on its own (the others made '*'), or None."""
    for index, (name, allowed) in enumerate(CRON_FIELD_RANGES):
        probe = ["*"] * 5
        probe[index] = fields[index]
        if not croniter.is_valid(" ".join(probe)):
            return f"the {name} field {fields[index]!r} is not valid ({allowed})"
    return None


# What defines a schedule (the admin form and import files carry exactly these).
DEFINITION_FIELDS = [
    "name",
    "kind",
    "cron",
    "every_minutes",
    "at_time",
    "weekday",
    "day_of_month",
    "run_at",
    "params",
    "overlap",
    "catchup",
    "is_paused",
]


class FlowSchedule(models.Model):
    class Kind(models.TextChoices):
        CRON = "cron", _("cron expression")
        MINUTES = "minutes", _("every N minutes")
        HOURLY = "hourly", _("hourly")
        DAILY = "daily", _("daily")
        WEEKLY = "weekly", _("weekly")
        MONTHLY = "monthly", _("monthly")
        ONCE = "once", _("once")

    class Overlap(models.TextChoices):
        SKIP = "skip", _("skip while a run of this flow is queued or running")
        ALLOW = "allow", _("allow overlapping runs")

    class Outcome(models.TextChoices):
        LAUNCHED = "launched", _("launched")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("could not launch")

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="schedules", verbose_name=_("flow"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DAILY)
    cron = models.CharField(
        _("cron expression"),
        max_length=100,
        blank=True,
        help_text=_("Five fields: minute hour day-of-month month day-of-week, in UTC. Example: 0 2 * * 1-5"),
    )
    every_minutes = models.PositiveIntegerField(_("every N minutes"), null=True, blank=True)
    at_time = models.TimeField(
        _("at (UTC)"),
        default=datetime.time(0, 0),
        help_text=_("Hourly: only the minutes count. Daily, weekly, monthly: the time of day, UTC."),
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS, null=True, blank=True)
    day_of_month = models.PositiveSmallIntegerField(
        _("day of the month"), null=True, blank=True, help_text=_("1 to 28, so that every month has it.")
    )
    run_at = models.DateTimeField(_("run once at"), null=True, blank=True)
    params = models.JSONField(
        _("parameters"), default=dict, blank=True, help_text=_("Given to each run, over the flow's defaults.")
    )
    overlap = models.CharField(_("overlap"), max_length=10, choices=Overlap.choices, default=Overlap.SKIP)
    is_paused = models.BooleanField(_("paused"), default=False, db_index=True)
    catchup = models.BooleanField(
        _("catch up"),
        default=False,
        help_text=_(
            "When workers were down and fires were missed: give each missed fire a run (up to a limit), "
            "instead of only the latest."
        ),
    )
    # The one Django-Q2 row that fires it; never edited by hand.
    q_schedule = models.OneToOneField(
        "django_q.Schedule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="flow_schedule",
    )
    last_fired_at = models.DateTimeField(_("last fired"), null=True, blank=True, editable=False)
    last_outcome = models.CharField(
        _("last outcome"), max_length=10, choices=Outcome.choices, blank=True, editable=False
    )
    last_message = models.CharField(_("last message"), max_length=300, blank=True, editable=False)
    last_run = models.ForeignKey(
        FlowRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("last run"),
    )
    skipped_count = models.PositiveIntegerField(_("fires skipped"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last change"), auto_now=True)

    class Meta:
        ordering = ["flow__name", "name"]
        verbose_name = _("flow schedule")
        verbose_name_plural = _("flow schedules")
        permissions = [("pause_schedule", _("Can pause and resume schedules"))]
        constraints = [
            models.UniqueConstraint(fields=["flow", "name"], name="flowforge_schedule_unique_name_in_flow")
        ]
        indexes = [models.Index(fields=["kind"], name="flowforge_schedule_kind")]

    def __str__(self):
        return f"{self.flow.name} / {self.name}" if self.flow_id else self.name

    def save(self, *args, **kwargs):
        # Its Django-Q2 row is written in the same transaction: never one without the other.
        with transaction.atomic():
            super().save(*args, **kwargs)
            q_schedules.sync_q_schedule(self)

    @property
    def is_active(self):
        """Whether it fires: neither it nor its flow is paused (and a once is still to come)."""
        return not self.is_paused and not self.flow.is_paused

    def cron_expression(self):
        """The cron expression of the calendar kinds (cron, hourly, daily, weekly, monthly), else None."""
        minute, hour = self.at_time.minute, self.at_time.hour
        if self.kind == self.Kind.CRON:
            return self.cron.strip()
        if self.kind == self.Kind.HOURLY:
            return f"{minute} * * * *"
        if self.kind == self.Kind.DAILY:
            return f"{minute} {hour} * * *"
        if self.kind == self.Kind.WEEKLY:
            # cron counts days from Sunday = 0; Python from Monday = 0.
            return f"{minute} {hour} * * {(self.weekday + 1) % 7}"
        if self.kind == self.Kind.MONTHLY:
            return f"{minute} {hour} {self.day_of_month} * *"
        return None

    def next_fire_times(self, count=5, after=None):
        """Return the next ``count`` fire times after ``after`` (now), in UTC."""
        after = after or timezone.now()
        if self.kind == self.Kind.ONCE:
            return [self.run_at] if self.run_at and self.run_at > after else []
        if self.kind == self.Kind.MINUTES:
            step = datetime.timedelta(minutes=self.every_minutes or 1)
            first = self.q_schedule.next_run if self.q_schedule and self.q_schedule.next_run > after else None
            first = first or after + step
            return [first + step * i for i in range(count)]
        times = croniter(self.cron_expression(), after)
        return [times.get_next(datetime.datetime) for _ in range(count)]

    def iter_fire_times(self, start, end, *, anchor=None, reverse=False):
        """Yield the fire times ``t`` with ``start <= t <= end``, in UTC, oldest first (``reverse``: newest first).

        A once fires at ``run_at``; the calendar kinds at their cron
        expression's times. An every-N-minutes schedule fires where Django-Q2
        steps it: its row's ``next_run`` plus or minus whole periods (the
        scheduler adds the period to ``next_run`` at each fire), so a backfill
        lines up with the fires the schedule makes itself. ``anchor`` puts
        that grid through another time (a fire being delivered); with
        neither, it runs through midnight UTC.
        """
        start, end = start.astimezone(datetime.UTC), end.astimezone(datetime.UTC)
        if start > end:
            return iter(())
        if self.kind == self.Kind.ONCE:
            return iter([self.run_at] if self.run_at and start <= self.run_at <= end else [])
        if self.kind == self.Kind.MINUTES:
            return self._minute_grid(start, end, anchor, reverse)
        return self._cron_times(start, end, reverse)

    def fire_times_between(self, start, end, limit=None, *, anchor=None):
        """Return the fire times from ``start`` to ``end`` (both included), oldest first, at most ``limit``."""
        return list(itertools.islice(self.iter_fire_times(start, end, anchor=anchor), limit))

    def _minute_grid(self, start, end, anchor, reverse):
        step = datetime.timedelta(minutes=self.every_minutes or 1)
        if anchor is None and self.q_schedule is not None and self.q_schedule.next_run is not None:
            anchor = self.q_schedule.next_run
        anchor = anchor or datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        first = anchor - ((anchor - start) // step) * step  # the first grid time at or after start
        last = anchor + ((end - anchor) // step) * step  # the last one at or before end
        count = (last - first) // step + 1
        if reverse:
            return (last - step * i for i in range(count))
        return (first + step * i for i in range(count))

    def _cron_times(self, start, end, reverse):
        # croniter steps strictly after (or before) the time it starts from: start a second outside.
        if reverse:
            times = croniter(self.cron_expression(), end + datetime.timedelta(seconds=1))
            # fold=0: croniter marks times it reached backwards as a repeated wall-clock hour.
            moments = (times.get_prev(datetime.datetime).replace(fold=0) for _ in itertools.count())
            return itertools.takewhile(lambda t: t >= start, (t for t in moments if t <= end))
        times = croniter(self.cron_expression(), start - datetime.timedelta(seconds=1))
        moments = (times.get_next(datetime.datetime) for _ in itertools.count())
        return itertools.takewhile(lambda t: t <= end, (t for t in moments if t >= start))

    def previous_fire_time(self, fire_time):
        """The fire time before ``fire_time`` (the start of its data interval), or None for a one-off."""
        if self.kind == self.Kind.ONCE:
            return None
        if self.kind == self.Kind.MINUTES:
            return fire_time - datetime.timedelta(minutes=self.every_minutes or 1)
        return croniter(self.cron_expression(), fire_time).get_prev(datetime.datetime)

    def clean(self):
        """Check that the fields this kind needs are there and make sense."""
        errors = {}
        if self.kind == self.Kind.CRON:
            if not self.cron.strip():
                errors["cron"] = _("A cron schedule needs a cron expression.")
            elif problem := cron_problem(self.cron):
                errors["cron"] = problem
        if self.kind == self.Kind.MINUTES and not self.every_minutes:
            errors["every_minutes"] = _("Say every how many minutes (1 or more).")
        elif isinstance(self.every_minutes, int) and not 1 <= self.every_minutes <= EVERY_MINUTES_MAX:
            errors["every_minutes"] = _(
                "Give a number of minutes from 1 to %(max)d (about 22 days): Django-Q2 stores no more."
            ) % {"max": EVERY_MINUTES_MAX}
        if self.kind == self.Kind.WEEKLY and self.weekday is None:
            errors["weekday"] = _("A weekly schedule needs a weekday.")
        if self.kind == self.Kind.MONTHLY and not (self.day_of_month and 1 <= self.day_of_month <= 28):
            errors["day_of_month"] = _("A monthly schedule needs a day from 1 to 28.")
        if self.kind == self.Kind.ONCE and self.run_at is None:
            errors["run_at"] = _("Say when it runs.")
        elif isinstance(self.run_at, datetime.datetime) and timezone.is_naive(self.run_at):
            # The admin's form reads its time in the site's zone; an import file must say.
            errors["run_at"] = _(
                "%(time)s has no time zone: write it with one, e.g. 2030-01-31T02:00:00+00:00 or ...Z."
            ) % {"time": self.run_at.isoformat()}
        if errors:
            raise ValidationError(errors)


@receiver(post_delete, sender=FlowSchedule, dispatch_uid="flowforge_admin.delete_q_schedule")
def delete_q_schedule(sender, instance, **kwargs):
    # Also when its flow is deleted (a cascade sends this signal for each schedule).
    q_schedules.delete_q_schedule(instance)
