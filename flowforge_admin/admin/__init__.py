"""Admin classes, one module per area; importing them registers them."""

from . import alerts, approvals, flows, logs, pools, runs, schedules, tasks, tokens  # noqa: F401
