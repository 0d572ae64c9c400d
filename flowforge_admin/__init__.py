"""Flow Forge admin: flows of tasks, defined, run and watched from Django admin."""
