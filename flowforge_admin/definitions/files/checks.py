"""The rules of a flow definition, run on a file's flows and placed at rows and columns.

Reading a file never imports a module it names: function paths are checked
by :func:`registry.function_checker`, and every rule is the one of
:func:`rules.validate_flow`, so an import file gets the admin's messages,
each placed at a row and a column. The checks the admin's schedule form makes
(a schedule's parameters against its flow, a one-off time to come) are made
here too, for the schedules a file brings.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from ...models import FlowSchedule
from .. import registry
from ..params import check_run_params
from ..rules import validate_flow
from .columns import FLOW_FIELD_COLUMNS, TASK_FIELD_COLUMNS
from .issues import Issue


def check_flows(flow_files, specs):
    """Return the Issues of every flow: validate_flow's problems placed at a row and a column."""
    paths = {task.function for spec in specs for task in spec.tasks if isinstance(task.function, str)}
    check_function = registry.function_checker(paths=paths)
    owner = {}
    for flow_file in flow_files:
        for _, _, task in flow_file.tasks:
            owner.setdefault(task.name, flow_file.name)
    issues = []
    for flow_file, spec in zip(flow_files, specs, strict=True):
        rows = {}
        for number, _, task in flow_file.tasks:
            rows[task.name] = number  # the last row of a name: the duplicate
        issues.extend(_other_flow_references(flow_file, rows, owner))
        for problem in validate_flow(spec, check_function):
            if problem.task is None:
                row, column = flow_file.first_row, FLOW_FIELD_COLUMNS.get(problem.field, problem.field)
            else:
                row, column = rows.get(problem.task), TASK_FIELD_COLUMNS.get(problem.field, problem.field)
            issues.append(Issue(f"{problem}", row, column))
    return issues


def schedule_issues(flow_file, spec, stored_schedules):
    """The checks the admin's schedule form makes, which need the flow: its params, a time to come.

    A schedule's parameters meet :func:`check_run_params` against the flow as
    the file leaves it (they would fail at every fire otherwise); a one-off
    schedule that is new or moved must be in the future, as in the form (an
    unchanged one that has fired is left alone, so an export imports again).
    """
    schedules = flow_file.given.get("flow_schedules") or []
    stored = {data["name"]: data for data in stored_schedules}
    for data in schedules:
        where = f"schedule {data['name']!r}"
        try:
            check_run_params(spec, data["params"])
        except ValidationError as error:
            for message in error.messages:
                yield Issue(f"{where}, {message}", flow_file.first_row, "flow_schedules")
        before = stored.get(data["name"])
        moved = before is None or (before["kind"], before["run_at"]) != (data["kind"], data["run_at"])
        once = data["kind"] == FlowSchedule.Kind.ONCE and data["run_at"]
        if once and moved and datetime.datetime.fromisoformat(data["run_at"]) <= timezone.now():
            yield Issue(
                f"{where}, run_at: {data['run_at']} has passed: give a time to come",
                flow_file.first_row,
                "flow_schedules",
            )


def _other_flow_references(flow_file, rows, owner):
    """Say so when a parent or dependency is a task of another flow of the file."""
    for number, _, task in flow_file.tasks:
        if (
            task.parent
            and task.parent not in rows
            and owner.get(task.parent, flow_file.name) != flow_file.name
        ):
            yield Issue(
                f"parent {task.parent!r} is a task of flow {owner[task.parent]!r}, not of {flow_file.name!r}",
                number,
                "parent",
            )
        for name in task.depends_on:
            if name not in rows and owner.get(name, flow_file.name) != flow_file.name:
                yield Issue(
                    f"{name!r} is a task of flow {owner[name]!r}, not of {flow_file.name!r}",
                    number,
                    "depends_on",
                )
