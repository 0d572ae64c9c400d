"""The changes Operators make to schedules: pause, resume, and launch a schedule's run now.

A schedule's own fires come from Django-Q2's scheduler, with no user
(:func:`flowforge_admin.engine.schedule_fire.fire`); "run now" is the same
launch (:func:`~flowforge_admin.engine.schedule_fire.launch_now`) asked for by
a person, and is recorded as such.
"""

from ..engine.schedule_fire import launch_now
from .base import Action
from .runs import LaunchFlowAction

PAUSE_PERMISSION = "flowforge_admin.pause_schedule"


class PauseScheduleAction(Action):
    """Pause a schedule (``paused=False``: resume it); return True if that changed it.

    A schedule already in that state is left alone and nothing is recorded.
    Its Django-Q2 row follows in the same transaction (FlowSchedule.save).
    """

    permission = PAUSE_PERMISSION

    def __init__(self, schedule, *, paused=True, user=None):
        super().__init__(user=user)
        self.schedule = schedule
        self.paused = paused

    def describe(self):
        return f"{'pause' if self.paused else 'resume'} schedule {self.schedule}"

    def perform(self):
        if self.schedule.is_paused == self.paused:
            return False
        self.schedule.is_paused = self.paused
        self.schedule.save(update_fields=["is_paused", "updated_at"])
        return True

    def log_entries(self, result):
        if not result:
            return []
        return [(self.schedule, "Paused." if self.paused else "Resumed.")]


class ResumeScheduleAction(PauseScheduleAction):
    """Resume a paused schedule; return True if it was paused."""

    def __init__(self, schedule, *, user=None):
        super().__init__(schedule, paused=False, user=user)


class LaunchScheduleNowAction(LaunchFlowAction):
    """Launch a run of ``schedule`` now, with its parameters; return the run, or None.

    The run is triggered by the schedule, as a fire's is, and recorded as a
    launch (:class:`~flowforge_admin.actions.runs.LaunchFlowAction`). When the
    engine refuses it (the flow is paused, its parameters no longer fit), the
    schedule records why as its last fire, as a fire does, and None is
    returned: the schedule's ``last_message`` says why.
    """

    def __init__(self, schedule, *, user=None):
        super().__init__(
            schedule.flow, schedule.params, user=user, how=f"Launched now by schedule {schedule}"
        )
        self.schedule = schedule

    def describe(self):
        return f"launch schedule {self.schedule} now"

    def perform(self):
        return launch_now(self.schedule)

    def record(self, result):
        if result is not None:
            super().record(result)
