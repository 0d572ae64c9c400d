"""A flow's ``max_active_runs``: runs over the limit wait, queued, and start in launch order.

A launch over the limit creates the run with all its task runs pending and
``held`` set; nothing of it is sent to a worker. When an active run of the
flow finishes (or is cancelled), the change that finished it asks, after its
commit, for the flow's held runs to be admitted (:func:`admit`): under the
flow's row lock the active runs are counted and the oldest held runs start,
as many as there are places. Launch takes the same lock to count, so two
launches never both take the last place. The lost-work check admits too, as
a backstop (a worker that died between the commit and the admission).

Lock order: the flow's row, then a run's (as the launch does).
"""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from ..models import Flow, FlowRun
from ..states import RunState

logger = logging.getLogger("flowforge_admin.engine")


def must_wait(flow):
    """Whether a new run of ``flow`` must wait for a place; call it in the launch's transaction.

    Locks the flow's row when it has a limit, so that the count stays true
    until the launch commits.
    """
    if flow.max_active_runs is None:
        return False
    limit = (
        Flow.objects.select_for_update().filter(pk=flow.pk).values_list("max_active_runs", flat=True).first()
    )
    return limit is not None and FlowRun.active_count(flow.pk) >= limit


def admit_on_commit(flow_id):
    """Admit ``flow_id``'s held runs once the current transaction commits (a run of it finished)."""
    if flow_id is not None:
        transaction.on_commit(lambda: admit(flow_id))


def admit(flow_id):
    """Start the flow's held runs, oldest first, while it has places; return how many started."""
    from .advance import start_run  # advance's callers import this module
    from .transitions import changing

    if not FlowRun.objects.filter(flow_id=flow_id, held=True).exists():
        return 0  # the usual case, read from a small partial index without a lock
    started = 0
    with transaction.atomic():
        # A flow deleted meanwhile (None) leaves its held runs no limit.
        limit = (
            Flow.objects.select_for_update()
            .filter(pk=flow_id)
            .values_list("max_active_runs", flat=True)
            .first()
        )
        held = FlowRun.objects.filter(flow_id=flow_id, held=True, status=RunState.QUEUED).order_by(
            "created_at", "id"
        )
        if limit is not None:
            places = limit - FlowRun.active_count(flow_id)
            if places <= 0:
                return 0
            held = held[:places]
        for run_id in list(held.values_list("pk", flat=True)):
            with changing(run_id) as change:
                if change.run.held and change.run.status == RunState.QUEUED:
                    release(change)
                    start_run(change)
                    started += 1
    if started:
        logger.info("flow %s: %s held run(s) started", flow_id, started)
    return started


def release(change):
    """The run no longer waits for a place (admitted, or cancelled)."""
    FlowRun.objects.filter(pk=change.run.pk).update(held=False)
    change.run.held = False


def flows_with_held_runs():
    """The flows that have held runs (the lost-work check admits them)."""
    return sorted(set(FlowRun.objects.filter(held=True).order_by().values_list("flow_id", flat=True)))


@receiver(post_save, sender=Flow, dispatch_uid="flowforge_admin.flow_saved_admit")
def _flow_saved(sender, instance, **kwargs):
    """A flow's limit may have been raised or removed: start what now fits, after the commit."""
    if FlowRun.objects.filter(flow=instance, held=True).exists():
        admit_on_commit(instance.pk)
