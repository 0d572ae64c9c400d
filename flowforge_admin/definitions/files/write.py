"""The write of an import: every changed flow of a valid plan, schedules included, in one transaction.

This is the change itself, without a user: the admin and ``import_flows``
go through :class:`flowforge_admin.actions.imports.ImportFlowsAction`, which
checks the user's permissions and records the admin-log entries around it.
"""

from django.db import transaction

from ...models import Flow, FlowSchedule
from .. import store
from .columns import SCHEDULE_FIELDS
from .preview import plan_import


@transaction.atomic
def apply_plan(plan):
    """Write every changed flow of a valid plan in one transaction; return the changes written."""
    if not plan.is_valid:
        raise ValueError("a plan with issues cannot be applied")
    for change in plan.changes:
        flow, _ = store.write_flow(change.spec, origin=Flow.Origin.IMPORT)
        if flow.is_paused != change.paused:
            flow.is_paused = change.paused
            flow.save(update_fields=["is_paused", "updated_at"])
        if change.schedules is not None:
            _write_schedules(flow, change)
    return plan.changes


def _write_schedules(flow, change):
    wanted = {data["name"]: data for data in change.schedules}
    for schedule in FlowSchedule.objects.filter(flow=flow):
        if schedule.name not in wanted:
            schedule.delete()
        elif schedule.name in change.schedules_changed:
            _set_schedule_fields(schedule, wanted[schedule.name])
            schedule.save()
    for name in change.schedules_added:
        schedule = FlowSchedule(flow=flow)
        _set_schedule_fields(schedule, wanted[name])
        schedule.save()


def _set_schedule_fields(schedule, data):
    for name in SCHEDULE_FIELDS:
        model_field = FlowSchedule._meta.get_field(name)
        setattr(schedule, name, model_field.to_python(data[name]))


def import_file(content, format_name):
    """Plan and, when valid, apply; return the plan."""
    plan = plan_import(content, format_name)
    if plan.is_valid:
        apply_plan(plan)
    return plan
