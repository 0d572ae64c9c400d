"""Approving and rejecting approval steps, and who may.

An approval step names its approvers: a Django group (its members decide),
or none (those with the ``approve_task`` permission decide). Superusers may
decide any step, as they may do anything in Django. The rule is
:func:`may_decide`, and :func:`waiting_for` is the same rule as a query (the
"Waiting for me" list and its count); the admin, the REST API and code all
decide through :class:`DecideApprovalAction`, which checks it, records the
decision in the run's history and Django's admin log, and has the engine
(:func:`flowforge_admin.engine.approvals.decide`) write it in the task's log.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from ..engine import approvals
from ..exceptions import InvalidTransition
from ..models import RunEvent, TaskRun
from ..states import TaskState
from .runs import TaskRunAction

APPROVE_PERMISSION = "flowforge_admin.approve_task"


def may_decide(user, group):
    """Whether ``user`` may approve or reject a step whose approvers are ``group`` ("": by permission)."""
    if user is None:
        return True  # trusted code
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    if group:
        return group in _group_names(user)
    return user.has_perm(APPROVE_PERMISSION)


class DecidableBy:
    """``group in DecidableBy(user)``: whether ``user`` may decide steps whose approvers are ``group`` (for templates)."""

    def __init__(self, user):
        self.user = user

    def __contains__(self, group):
        return group is not None and may_decide(self.user, group)


def waiting_for(user):
    """Return the task runs waiting for ``user``'s decision (newest wait last), as one indexed query."""
    waiting = TaskRun.objects.filter(status=TaskState.WAITING, approval_group__isnull=False)
    if user.is_superuser:
        return waiting
    if not (user.is_active and user.is_staff):
        return waiting.none()
    mine = Q(approval_group__in=sorted(_group_names(user)))
    if user.has_perm(APPROVE_PERMISSION):
        mine |= Q(approval_group="")
    return waiting.filter(mine)


def _group_names(user):
    """The names of ``user``'s groups, read once per user object (as Django caches its permissions)."""
    if not hasattr(user, "_flowforge_group_names"):
        user._flowforge_group_names = set(user.groups.values_list("name", flat=True))
    return user._flowforge_group_names


class DecideApprovalAction(TaskRunAction):
    """Approve (the task succeeds with ``data`` as its output) or reject (it fails with ``comment``) a waiting step."""

    def __init__(self, task_run, *, approve, comment="", data=None, user=None):
        super().__init__(task_run, user=user)
        self.approve = approve
        self.comment = (comment or "").strip()
        self.data = data
        self.event = RunEvent.Action.APPROVE if approve else RunEvent.Action.REJECT
        self.verb = "approve" if approve else "reject"

    def get_permission(self):
        return APPROVE_PERMISSION

    def check(self):
        """Raise PermissionDenied unless the user is one of the step's approvers."""
        if self.user is None:
            return
        group = self.task_run.approval_group
        if group is None:
            # Set when the step starts waiting, and never changed after: read it again.
            group = (
                TaskRun.objects.filter(pk=self.task_run.pk).values_list("approval_group", flat=True).first()
            )
        if group is None:
            raise InvalidTransition(
                f"task {self.task_run.task_name} of run #{self.run.pk} is not waiting for approval"
            )
        if not may_decide(self.user, group):
            whom = f"members of group {group!r}" if group else f"users with {APPROVE_PERMISSION}"
            raise PermissionDenied(f"{self.user} may not {self.describe()}: only {whom} decide it")

    def perform(self):
        by = self.user.get_username() if self.user is not None else "code"
        return approvals.decide(
            self.task_run, approved=self.approve, by=by, comment=self.comment, data=self.data
        )

    def message(self, result):
        verb = "Approved" if self.approve else "Rejected"
        said = f": {self.comment}" if self.comment else "."
        return f"{verb} task {self.task_run.task_name} of run #{self.run.pk}{said}"
