"""Admin classes, one module per area; importing them registers them."""

from . import flows, tasks  # noqa: F401
