"""One unit per state change: ``check(user) -> perform() -> record``.

See :class:`.base.Action`. The admin, the commands and :mod:`flowforge_admin.api`
call these instead of the engine, so that a change is checked and logged the
same way whatever its entrance:

- :mod:`.runs`: launch, cancel, re-run failed, retry a task, mark a task,
  clear tasks; each also writes the run's own history (RunEvent);
- :mod:`.schedules`: pause, resume, launch a schedule's run now;
- :mod:`.definitions`: save a flow's definition from code (register_task_pipeline);
- :mod:`.tokens`: create and revoke API tokens.
"""
