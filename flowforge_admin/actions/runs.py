"""The changes people and code make to runs: launch, cancel, re-run failed, retry, mark, clear.

Each is checked against the Operator's permissions (``launch_flow`` on Flow
to launch, ``cancel_run`` on FlowRun for the rest), made by the engine
(:mod:`flowforge_admin.engine.launch`, :mod:`flowforge_admin.engine.control`),
and recorded twice: always in the run's own history (a
:class:`~flowforge_admin.models.RunEvent`, user or not) and, for a user, in
Django's admin log, in the words the run's History page has always shown.
"""

from django.contrib.admin.models import ADDITION

from ..engine import control
from ..engine.launch import launch
from ..models import FlowRun, RunEvent
from ..models.events import launch_message
from .base import Action

LAUNCH_PERMISSION = "flowforge_admin.launch_flow"
CONTROL_PERMISSION = "flowforge_admin.cancel_run"


class RunAction(Action):
    """A change of one run: recorded in the run's history, and in the admin log for a user.

    Subclasses set :attr:`event` and implement :meth:`message` (the words of
    both records) besides :meth:`~Action.perform`.
    """

    permission = CONTROL_PERMISSION
    #: The RunEvent's action (a ``RunEvent.Action`` value).
    event = ""
    #: What the action does to the run, for refusals: "<verb> run #3".
    verb = ""

    def __init__(self, run, *, user=None):
        super().__init__(user=user)
        self.run = run

    def describe(self):
        return f"{self.verb} run #{self.run.pk}"

    def message(self, result):
        """Return the words of the change, for the run's history and the admin log; override."""
        raise NotImplementedError

    def changed_run(self, result):
        """Return the run that changed (``result`` when ``perform`` returns it)."""
        return self.run

    def log_entries(self, result):
        return [(self.changed_run(result), self.message(result))]

    def record(self, result):
        run = self.changed_run(result)
        RunEvent.objects.create(run=run, user=self.user, action=self.event, message=self.message(result))
        super().record(result)


class TaskRunAction(RunAction):
    """A change of one task of a run; recorded on its run."""

    def __init__(self, task_run, *, user=None):
        # The admin reads task runs through ``run.task_runs``: ``task_run.run`` is then known (no query).
        super().__init__(task_run.run, user=user)
        self.task_run = task_run

    def describe(self):
        return f"{self.verb} {self.task_run.task_name} of run #{self.run.pk}"


class LaunchFlowAction(RunAction):
    """Launch a run of ``flow`` (a Flow or its name) with ``params``; return the queued run.

    With a user the run is triggered by that user, without one by code. ``how``
    begins the record ("Launched from the admin"); the new run's history gets
    it, and for a user the admin log too, on the run (an addition) and on
    its flow (a change): both History pages say who started what.
    """

    permission = LAUNCH_PERMISSION
    event = RunEvent.Action.LAUNCH

    def __init__(self, flow, params=None, *, user=None, how=None, logical_date=None, data_interval=None):
        if user is not None and not getattr(user, "is_authenticated", False):
            raise TypeError(f"a launch's user must be a user or None, not {user!r}")
        super().__init__(None, user=user)
        self.flow = flow
        self.params = params
        self.how = how or "Launched from code"
        # The moment of data the run is for (default: the launch moment), and its (start, end).
        self.dates = {"logical_date": logical_date, "data_interval": data_interval}

    def describe(self):
        return f"launch flow {getattr(self.flow, 'name', self.flow)!r}"

    def perform(self):
        if self.user is None:
            return launch(self.flow, self.params, triggered_by=FlowRun.Trigger.CODE, **self.dates)
        return launch(self.flow, self.params, triggered_by=FlowRun.Trigger.USER, user=self.user, **self.dates)

    def changed_run(self, result):
        return result

    def message(self, result):
        return launch_message(self.how, result.params)

    def log_entries(self, result):
        entries = [(result, self.message(result), ADDITION)]
        if result.flow is not None:
            entries.append((result.flow, launch_message(f"Launched run #{result.pk}", result.params)))
        return entries


class CancelRunAction(RunAction):
    """Cancel a queued or running run (:func:`flowforge_admin.engine.control.cancel`)."""

    event = RunEvent.Action.CANCEL
    verb = "cancel"

    def perform(self):
        return control.cancel(self.run)

    def message(self, result):
        return f"Cancelled run #{self.run.pk}."


class RerunFailedAction(RunAction):
    """Run again the failed, upstream-failed and cancelled tasks of a finished run."""

    event = RunEvent.Action.RERUN_FAILED
    verb = "re-run the failed tasks of"

    def perform(self):
        return control.rerun_failed(self.run)

    def message(self, result):
        return f"Re-running the failed and cancelled tasks of run #{self.run.pk}."


class RetryTaskAction(TaskRunAction):
    """Run a failed, upstream-failed or cancelled task again, with what waits for it."""

    event = RunEvent.Action.RETRY_TASK
    verb = "retry task"

    def perform(self):
        return control.retry_task(self.task_run)

    def message(self, result):
        return f"Retrying task {self.task_run.task_name} of run #{self.run.pk}."


class MarkTaskAction(TaskRunAction):
    """Set a task's outcome by hand, ``succeeded`` or ``failed``, with a reason."""

    event = RunEvent.Action.MARK_TASK
    verb = "mark task"

    def __init__(self, task_run, status, reason, *, user=None):
        super().__init__(task_run, user=user)
        self.status = status
        self.reason = reason

    def perform(self):
        return control.mark_task(self.task_run, self.status, self.reason)

    def message(self, result):
        return f"Marked task {self.task_run.task_name} of run #{self.run.pk} {self.status}: {self.reason}"


class ClearTasksAction(RunAction):
    """Run the named tasks again as new attempts, by default with everything downstream of them."""

    event = RunEvent.Action.CLEAR_TASKS
    verb = "clear tasks of"

    def __init__(self, run, task_names, *, downstream=True, user=None):
        super().__init__(run, user=user)
        self.task_names = task_names
        self.downstream = downstream

    def perform(self):
        return control.clear_tasks(self.run, self.task_names, downstream=self.downstream)

    def message(self, result):
        names = ", ".join(dict.fromkeys(self.task_names))
        tail = " and what waits for them" if self.downstream else ""
        return f"Cleared tasks {names}{tail} of run #{self.run.pk}."
