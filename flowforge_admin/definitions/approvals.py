"""The ``approval`` task key: its shape and checks (the one place that knows them).

``approval: {"group": "<Django group>", "params_schema": {...}, "timeout": s}``,
every key optional (``{}`` is an approval step anyone with the
``approve_task`` permission decides, with no form and no time limit). When
its upstream is done the task run is ``waiting`` for a person: no worker, no
function. Approved, it succeeds with the approver's form data (checked
against ``params_schema``) as its output; rejected, it fails with the
approver's comment as its error; past ``timeout`` seconds it fails. The
engine's side is :mod:`flowforge_admin.engine.approvals`.
"""

from .params import check_params_schema

KEYS = ("group", "params_schema", "timeout")
# Django's Group.name is 150 characters long.
GROUP_MAX_LENGTH = 150
# The largest number of seconds a timeout takes (the database's positive integers).
SECONDS_MAX = 2**31 - 1
# Task keys that mean work on a worker, which an approval step does not do.
WORKER_KEYS = ("function", "sensor", "map_over", "pool", "queue")


def approval_settings(task):
    """Return (group, params_schema, timeout) of a snapshot's task dict, or None if it is no approval step.

    ``group`` is "" when approvers are those with the ``approve_task``
    permission; ``params_schema`` and ``timeout`` are None when not set.
    """
    approval = task.get("approval")
    if approval is None:
        return None
    return (approval.get("group") or "", approval.get("params_schema"), approval.get("timeout"))


def approval_problems(approval, *, is_group, worker_keys=()):
    """Yield a message for each thing wrong with a task's ``approval`` value (None: no approval step).

    ``worker_keys``: the keys of :data:`WORKER_KEYS` the task also sets.
    """
    if approval is None:
        return
    if not isinstance(approval, dict):
        yield f'must be an object such as {{"group": "Model reviewers", "timeout": 86400}}, not {approval!r}'
        return
    unknown = sorted(set(approval) - set(KEYS), key=str)
    if unknown:
        yield f"has no key {unknown[0]!r} (its keys: {', '.join(KEYS)})"
    group = approval.get("group")
    if "group" in approval and not (
        isinstance(group, str) and group.strip() == group and 0 < len(group) <= GROUP_MAX_LENGTH
    ):
        yield f"group must be the name of a Django group (1 to {GROUP_MAX_LENGTH} characters), not {group!r}"
    if "params_schema" in approval:
        problem = check_params_schema(approval["params_schema"])
        if problem:
            yield f"params_schema {problem}"
    timeout = approval.get("timeout")
    if "timeout" in approval and not (
        isinstance(timeout, int) and not isinstance(timeout, bool) and 1 <= timeout <= SECONDS_MAX
    ):
        yield f"timeout must be a whole number of seconds from 1 to {SECONDS_MAX}, not {timeout!r}"
    if is_group:
        yield "a group cannot be an approval step: its tasks can"
    for key in worker_keys:
        yield f"an approval step is decided by a person and runs nothing on a worker: it cannot have a {key}"
