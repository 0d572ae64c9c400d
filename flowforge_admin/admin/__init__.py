"""Admin classes, one module per area; importing them registers them."""

from . import flows, runs, tasks  # noqa: F401
