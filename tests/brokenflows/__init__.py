"""A test app whose ``flows`` module registers a broken flow (see tests/commands)."""
