"""Purging old finished runs on someone's behalf: the check and the admin-log summary around the engine's purge.

The deleting itself is :func:`flowforge_admin.engine.retention.purge_runs`
(also the daily schedule's, which has no user). Unlike the other actions it
does not run in one transaction: it commits batch by batch, so that it never
holds a lock for long; the summary is written once all batches are done.
"""

from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from ..engine import retention
from ..models import Flow, FlowRun
from ..states import RUN_FINISHED, RunState
from .base import Action


def check_filters(flows, statuses):
    """Raise ValueError for a flow no run or flow has, or a status that is unknown or not finished."""
    for name in flows:
        if not (Flow.objects.filter(name=name).exists() or FlowRun.objects.filter(flow_name=name).exists()):
            raise ValueError(f"--flow {name!r}: there is no flow (nor any run of a flow) of that name")
    finished = ", ".join(sorted(RUN_FINISHED))
    for status in statuses:
        if status not in RunState.values:
            raise ValueError(f"--status {status!r} is not a run status (one of {', '.join(RunState.values)})")
        if status not in RUN_FINISHED:
            raise ValueError(
                f"--status {status!r}: only finished runs are purged ({finished}); a {status} run never is"
            )


class PurgeRunsAction(Action):
    """Delete the finished runs older than ``days`` days (maybe of some flows, some statuses only)."""

    permission = "flowforge_admin.delete_flowrun"
    log_flag = DELETION

    def __init__(self, days, *, flows=(), statuses=(), batch_size=retention.BATCH_SIZE, user=None):
        super().__init__(user=user)
        self.days = retention.check_days(days)
        self.flows = list(dict.fromkeys(flows))
        self.statuses = list(dict.fromkeys(statuses))
        self.batch_size = retention.check_days(batch_size, "--batch-size")
        check_filters(self.flows, self.statuses)

    def describe(self):
        return f"purge runs older than {self.days} days"

    def dry_run(self):
        """Return the PurgeResult of what :meth:`execute` would delete; delete nothing."""
        self.check()
        return retention.purge_runs(self.days, flows=self.flows, statuses=self.statuses, dry_run=True)

    def execute(self):
        """Check, purge batch by batch (each its own transaction), then record; return the PurgeResult."""
        self.check()
        result = self.perform()
        with transaction.atomic():
            self.record(result)
        return result

    def perform(self):
        return retention.purge_runs(
            self.days, flows=self.flows, statuses=self.statuses, batch_size=self.batch_size
        )

    def summary(self, result):
        """The admin log's words: what was purged, and which runs."""
        which = f"finished more than {self.days} days ago"
        if self.flows:
            which += f", of flow {', '.join(self.flows)}"
        if self.statuses:
            which += f", {' or '.join(self.statuses)}"
        return f"Purged runs {which}: {result.describe()}."

    def record(self, result):
        """One summary entry on the flow runs (the runs themselves are gone), for a user."""
        if self.user is None or not result.runs:
            return
        LogEntry.objects.create(
            user_id=self.user.pk,
            content_type=ContentType.objects.get_for_model(FlowRun),
            object_id=None,
            object_repr=f"{result.runs} runs older than {self.days} days"[:200],
            action_flag=DELETION,
            change_message=self.summary(result),
        )
