"""Importing a flow file: the one door the admin's import and ``manage.py import_flows`` go through.

The file is read, checked and compared with the database
(:func:`~flowforge_admin.definitions.files.preview.plan_import`), then every
changed flow is written in one transaction
(:func:`~flowforge_admin.definitions.files.write.apply_plan`). A file with any
problem is not an exception: the plan returned holds its issues, and nothing
is written or recorded.
"""

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction

from ..definitions.files.plan import change_message
from ..definitions.files.preview import plan_import
from ..definitions.files.write import apply_plan
from ..models import Flow
from .base import Action


class ImportFlowsAction(Action):
    """Import a flow file (``content`` in ``format_name``), or write a ``plan`` already made.

    ``execute()`` returns the :class:`~flowforge_admin.definitions.files.plan.ImportPlan`.
    With ``dry_run`` it is only the preview; otherwise a valid plan's changes
    are written and, with a ``user``, each flow written gets an entry in
    Django's admin log (its History page), in the same transaction:
    "``how``: tasks added: ...". Without a user (trusted code, a command
    without ``--user``) nothing is logged, since ``LogEntry`` needs a user.
    """

    #: The admin's import page asks both (FlowAdmin's has_add_permission and
    #: has_change_permission): an import creates flows and changes others.
    permissions = ("flowforge_admin.add_flow", "flowforge_admin.change_flow")
    permission = " and ".join(permissions)

    def __init__(
        self, content=None, format_name=None, *, plan=None, dry_run=False, user=None, how="Imported"
    ):
        super().__init__(user=user)
        if plan is None and content is None:
            raise TypeError("ImportFlowsAction needs the file's content and format, or a plan")
        self.content, self.format_name, self.plan = content, format_name, plan
        self.dry_run, self.how = dry_run, how

    def check(self):
        """Raise ``PermissionDenied`` unless the user may add and change flows (a user=None may)."""
        if self.user is None:
            return
        if not (self.user.is_active and self.user.has_perms(self.permissions)):
            raise PermissionDenied(f"{self.user} may not {self.describe()}: {self.permission} are needed")

    def describe(self):
        return "import flows"

    def execute(self):
        """Check, plan, then write and record in one transaction; return the plan.

        The file is read and checked before the transaction begins: on SQLite a
        transaction takes the write lock when it begins, and reading a large
        file takes seconds that the workers' writes should not wait for. A
        dry run or a file with issues never opens one.
        """
        self.check()
        if self.plan is None:
            self.plan = plan_import(self.content, self.format_name)
        if self.dry_run or not self.plan.is_valid:
            return self.plan
        with transaction.atomic():
            plan = self.perform()
            self.record(plan)
        return plan

    def perform(self):
        """Plan (unless planned) and, when valid and not a dry run, write; return the plan."""
        plan = self.plan if self.plan is not None else plan_import(self.content, self.format_name)
        if plan.is_valid and not self.dry_run:
            apply_plan(plan)
        return plan

    def written(self, plan):
        """Return the flow changes ``plan`` wrote (none for a dry run or an invalid file)."""
        return plan.changes if plan.is_valid and not self.dry_run else []

    def record(self, plan):
        """Log each flow written as created (ADDITION) or changed (CHANGE) by the user, in one query."""
        changes = self.written(plan)
        if self.user is None or not changes:
            return
        flows = Flow.objects.in_bulk([change.name for change in changes], field_name="name")
        content_type = ContentType.objects.get_for_model(Flow)
        LogEntry.objects.bulk_create(
            [
                LogEntry(
                    user_id=self.user.pk,
                    content_type=content_type,
                    object_id=str(flows[change.name].pk),
                    object_repr=str(flows[change.name])[:200],
                    action_flag=ADDITION if change.status == "created" else CHANGE,
                    change_message=f"{self.how}: {change_message(change)}.",
                )
                for change in changes
            ]
        )
