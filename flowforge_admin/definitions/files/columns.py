"""The layout of a flow file: its columns, which are required, and how a schedule is written.

One row per task (a flow without tasks has one row with an empty ``task``).
The flow's own settings (display name, description, paused, parameters,
schema, schedules) sit on the flow's first row; its other rows leave them
empty. Rows may come in any order: ``position`` orders siblings, ``parent``
and ``depends_on`` may name tasks further down the file.
"""

import datetime

from ...models.schedules import DEFINITION_FIELDS

FLOW_COLUMNS = [
    "flow_display_name",
    "flow_description",
    "flow_paused",
    "flow_params",
    "flow_params_schema",
    "flow_schedules",
    "flow_max_active_runs",
]
TASK_COLUMNS = [
    "task",
    "parent",
    "position",
    "function",
    "depends_on",
    "verbose_name",
    "params",
    "retries",
    "retry_delay",
    "timeout",
    "pool",
    "pool_slots",
    "queue",
    "sensor",
    "map_over",
    "map_param",
    "approval",
]
COLUMNS = ["flow", *FLOW_COLUMNS, *TASK_COLUMNS]
LABEL_COLUMNS = {"flow_display_name", "flow_description"}
REQUIRED_COLUMNS = ["flow", "task", "parent", "function", "depends_on"]
SCHEDULE_FIELDS = DEFINITION_FIELDS
# validate_flow's field names -> the file's columns.
TASK_FIELD_COLUMNS = {"name": "task"}
FLOW_FIELD_COLUMNS = {
    "name": "flow",
    "params": "flow_params",
    "params_schema": "flow_params_schema",
    "max_active_runs": "flow_max_active_runs",
}


def schedule_data(schedule):
    """Return a schedule as JSON-ready data (times as ISO text)."""
    data = {}
    for name in SCHEDULE_FIELDS:
        value = getattr(schedule, name)
        if isinstance(value, (datetime.date, datetime.time)):
            value = value.isoformat()
        data[name] = value
    return data
