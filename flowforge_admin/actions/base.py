"""The shape every state change has: check the user, change, record.

An action is the one door to a state change from outside the engine: the
admin, the management commands, :mod:`flowforge_admin.api` and the REST API
build the same action and call :meth:`Action.execute`, so the permission is
checked and the change is written to Django's admin log in one place,
whatever the entrance (as Wagtail's ``wagtail.actions`` do).

``user=None`` is trusted code (a shell, a schedule, a flow module): nothing to
check, and no admin-log entry, since Django's ``LogEntry`` needs a user. What
must be remembered even then (a run's own history) is written by
:meth:`Action.record`, which subclasses extend.
"""

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction


class Action:
    """One state change. Subclasses set :attr:`permission` and implement :meth:`perform`.

    ``check()`` raises ``PermissionDenied`` ("not allowed for you");
    ``perform()`` raises :class:`~flowforge_admin.exceptions.InvalidTransition`
    or ``ValidationError`` ("not possible now", "not valid"), and then nothing
    has changed. ``execute()`` runs both and :meth:`record` in one transaction.
    """

    #: The permission the acting user needs, as ``"app_label.codename"``.
    permission = ""
    #: The admin log's kind of entry (ADDITION, CHANGE or DELETION), unless an entry says otherwise.
    log_flag = CHANGE

    def __init__(self, *, user=None):
        self.user = user

    def get_permission(self):
        """Return the permission the acting user needs; override when it depends on the object."""
        return self.permission

    def check(self):
        """Raise ``PermissionDenied`` when the acting user may not do this; return None."""
        if self.user is None:
            return
        permission = self.get_permission()
        if not (self.user.is_active and self.user.has_perm(permission)):
            raise PermissionDenied(f"{self.user} may not {self.describe()}: {permission} is needed")

    def execute(self):
        """Check, perform and record the change in one transaction; return what ``perform`` returned."""
        self.check()
        with transaction.atomic():
            result = self.perform()
            self.record(result)
        return result

    def perform(self):
        """Make the change; override. Raise before writing anything when it is not possible."""
        raise NotImplementedError

    def describe(self):
        """A short phrase for refusals: what this action does ("cancel run #3"); override."""
        return type(self).__name__

    def log_entries(self, result):
        """Return ``(object, message)`` pairs to write in the admin log; override.

        An entry of another kind than :attr:`log_flag` is a triple
        ``(object, message, flag)`` (a launch adds a run and changes its flow).
        """
        return []

    def record(self, result):
        """Write the admin-log entries, for a user; override to record more (call super())."""
        if self.user is None:
            return
        for obj, message, *flag in self.log_entries(result):
            LogEntry.objects.log_actions(
                user_id=self.user.pk,
                queryset=[obj],
                action_flag=flag[0] if flag else self.log_flag,
                change_message=message,
                single_object=True,
            )
