"""The preview of an import: read a file, check it and compare it with the database; nothing written.

The steps, each in its module: :mod:`.rows` (bytes -> numbered rows),
:mod:`.parse` (rows -> flows and their specs), :mod:`.checks` (the rules,
placed at rows and columns), :mod:`.plan` (the difference with what is
stored). A file with any problem gets a plan of issues and no changes.
"""

from ...models import Flow, FlowSchedule
from .. import store
from .checks import check_flows, schedule_issues
from .columns import schedule_data
from .formats import FORMATS
from .issues import FileProblem, Issue
from .parse import build_spec, parse_rows
from .plan import ImportPlan, compare
from .rows import load_rows


def plan_import(content, format_name):
    """Read, check and compare a file with the database; return an :class:`ImportPlan`.

    Never raises on bad content and never writes: the plan holds either the
    issues or, per flow, what importing would change.
    """
    if format_name not in FORMATS:
        return ImportPlan(issues=[Issue(f"unknown format {format_name!r}; use one of {', '.join(FORMATS)}")])
    try:
        rows = load_rows(content, format_name)
    except FileProblem as problem:
        return ImportPlan(issues=[problem.issue])
    return plan_rows(rows)


def plan_rows(rows):
    """Return the :class:`ImportPlan` of numbered rows (see :func:`plan_import`)."""
    flow_files, issues = parse_rows(rows)
    stored_flows = {flow.name: flow for flow in Flow.objects.filter(name__in=[f.name for f in flow_files])}
    stored_specs = {name: store.read_flow_spec(flow) for name, flow in stored_flows.items()}
    specs = [build_spec(flow_file, stored_specs.get(flow_file.name)) for flow_file in flow_files]
    # A cell already reported while reading (a list where a name belongs...) holds a stand-in
    # value: what the rules would say about that stand-in is left out.
    reported = {(issue.row, issue.column) for issue in issues}
    issues.extend(
        issue for issue in check_flows(flow_files, specs) if (issue.row, issue.column) not in reported
    )
    stored_schedules = {}
    for schedule in FlowSchedule.objects.filter(flow__in=list(stored_flows.values())).order_by("name"):
        stored_schedules.setdefault(schedule.flow_id, []).append(schedule_data(schedule))
    # A flow whose own params or schema are wrong has that reported; its schedules wait for it.
    bad_params = {issue.row for issue in issues if issue.column in ("flow_params", "flow_params_schema")}
    for flow_file, spec in zip(flow_files, specs, strict=True):
        if flow_file.first_row in bad_params:
            continue
        stored = stored_flows.get(flow_file.name)
        issues.extend(schedule_issues(flow_file, spec, stored_schedules.get(stored.pk, []) if stored else []))
    if issues:
        return ImportPlan(issues=sorted(issues, key=lambda issue: (issue.row or 0, issue.column or "")))
    flows = []
    for flow_file, spec in zip(flow_files, specs, strict=True):
        stored = stored_flows.get(flow_file.name)
        flows.append(
            compare(
                spec,
                flow_file.given,
                stored,
                stored_specs.get(flow_file.name),
                stored_schedules.get(stored.pk, []) if stored else [],
            )
        )
    return ImportPlan(flows=flows)
