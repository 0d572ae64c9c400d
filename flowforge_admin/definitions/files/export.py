"""Flows -> a file: rows in a stable order, so that the same database exports the same bytes."""

import json

import tablib

from ...models import FlowSchedule
from ...text import escape_surrogates, printable
from .. import store
from .columns import COLUMNS, schedule_data
from .formats import format_for


def flow_rows(spec, paused=False, schedules=()):
    """Return the rows of one flow: tasks in tree order, settings on the first row."""
    settings = {
        "flow_display_name": spec.display_name,
        "flow_description": spec.description,
        "flow_paused": bool(paused),
        "flow_params": _json_text(spec.params),
        "flow_params_schema": "" if spec.params_schema is None else _json_text(spec.params_schema),
        "flow_schedules": _json_text(sorted(schedules, key=lambda item: item["name"])),
        "flow_max_active_runs": "" if spec.max_active_runs is None else spec.max_active_runs,
    }
    positions, rows = {}, []
    for task in spec.tasks or [None]:
        row = dict.fromkeys(COLUMNS, "")
        row["flow"] = spec.name
        if not rows:
            row.update(settings)
        if task is not None:
            positions[task.parent] = positions.get(task.parent, 0) + 1
            row.update(
                task=task.name,
                parent=task.parent or "",
                position=positions[task.parent],
                function=task.function,
                depends_on=", ".join(sorted(task.depends_on)),
                verbose_name=task.verbose_name,
                params=_json_text(task.params),
                retries=task.retries,
                retry_delay=task.retry_delay,
                timeout="" if task.timeout is None else task.timeout,
                pool=task.pool,
                pool_slots=task.pool_slots,
                queue=task.queue,
                sensor="" if task.sensor is None else _json_text(task.sensor),
                map_over=task.map_over,
                map_param=task.map_param,
                approval="" if task.approval is None else _json_text(task.approval),
            )
        rows.append(row)
    return rows


def _json_text(value):
    # A lone surrogate stored before it was refused is written as its escape: the file can be
    # encoded, and importing it names the problem.
    return escape_surrogates(json.dumps(value, sort_keys=True, ensure_ascii=False))


def export_dataset(flows):
    """Return a tablib Dataset of ``flows`` (a queryset or list), ordered by flow name."""
    flows = sorted(flows, key=lambda flow: flow.name)
    schedules = {}
    for schedule in FlowSchedule.objects.filter(flow__in=[flow.pk for flow in flows]).order_by("name"):
        schedules.setdefault(schedule.flow_id, []).append(schedule_data(schedule))
    dataset = tablib.Dataset(headers=COLUMNS, title="flows")
    for flow in flows:
        spec = store.read_flow_spec(flow)
        for row in flow_rows(spec, flow.is_paused, schedules.get(flow.pk, [])):
            # No stored text may break the export of every flow: U+FFFD for a lone surrogate.
            dataset.append([printable(v) if isinstance(v, str) else v for v in (row[c] for c in COLUMNS)])
    return dataset


def export_flows(flows, format_name):
    """Return the file content (bytes) of ``flows`` in ``format_name``."""
    data = format_for(format_name).export_data(export_dataset(flows))
    return data.encode() if isinstance(data, str) else data
