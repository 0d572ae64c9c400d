"""Keep each FlowSchedule's one Django-Q2 ``Schedule`` row in step with it.

Django-Q2's scheduler (in every ``qcluster``, every 30 s) fires due rows.
The row says only when: it calls :func:`flowforge_admin.engine.schedule_fire.fire`
with the FlowSchedule's id, which reads everything else from the FlowSchedule.
A paused schedule (or one of a paused flow) keeps its row with ``repeats=0``,
which the scheduler skips; resuming sets the next fire time from now, so a
long pause never replays the fires it missed.
"""

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

# A string: the models import this module and the engine imports the models, so
# importing the engine here would be a cycle (tests/engine/test_entry_points.py
# checks that it resolves to the function).
FIRE_FUNC = "flowforge_admin.engine.schedule_fire.fire"
INTENDED_DATE_KWARG = "intended_date"


def cluster_name():
    """The cluster name every ``qcluster`` of this project shares (Q_CLUSTER's name)."""
    return settings.Q_CLUSTER["name"]


def sync_q_schedule(schedule):
    """Create or update ``schedule``'s Django-Q2 row; call it in the transaction that saved it."""
    q = schedule.q_schedule or Schedule()
    q.name = f"flowforge schedule {schedule.pk}"
    q.func = FIRE_FUNC
    q.args = repr((schedule.pk,))
    q.kwargs = None
    # The scheduler passes the time the row was due (before it moves it on):
    # the run's logical date is the fire time it stands for, not the pick-up.
    q.intended_date_kwarg = INTENDED_DATE_KWARG
    q.cluster = cluster_name()
    q.schedule_type, q.cron, q.minutes = _timing(schedule)
    upcoming = schedule.next_fire_times(1)
    q.next_run = upcoming[0] if upcoming else (schedule.run_at or timezone.now())
    q.repeats = _repeats(schedule, bool(upcoming))
    q.save()
    if schedule.q_schedule_id != q.pk:
        schedule.q_schedule = q
        type(schedule).objects.filter(pk=schedule.pk).update(q_schedule=q)


def _timing(schedule):
    """Return (Django-Q2 schedule type, cron, minutes) for the schedule's kind."""
    kind = schedule.Kind
    if schedule.kind == kind.ONCE:
        return Schedule.ONCE, None, None
    if schedule.kind == kind.MINUTES:
        return Schedule.MINUTES, None, schedule.every_minutes
    # Hourly, daily, weekly and monthly are cron expressions: exact times of day.
    return Schedule.CRON, schedule.cron_expression(), None


def _repeats(schedule, has_upcoming):
    """-1 fires for ever, 1 fires once (and the row stays), 0 never: Django-Q2's scheduler skips it."""
    if not schedule.is_active:
        return 0
    if schedule.kind == schedule.Kind.ONCE:
        return 1 if has_upcoming else 0
    return -1


def sync_flow_schedules(flow):
    """After a flow is paused or resumed: its schedules' rows follow."""
    for schedule in flow.schedules.select_related("q_schedule", "flow"):
        sync_q_schedule(schedule)


def delete_q_schedule(schedule):
    if schedule.q_schedule_id:
        Schedule.objects.filter(pk=schedule.q_schedule_id).delete()
