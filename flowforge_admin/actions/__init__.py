"""One unit per state change: ``check(user) -> perform() -> record``.

See :class:`.base.Action`. The admin, the commands and :mod:`flowforge_admin.api`
call these instead of the engine, so that a change is checked and logged the
same way whatever its entrance.
"""
