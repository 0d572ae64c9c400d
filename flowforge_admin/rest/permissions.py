"""Who may call what: the same Django permissions the admin asks, for a token's user or a session.

A view names the permission each of its actions needs in
``required_permissions`` ({action name: "app_label.codename"}); a request
without credentials is refused with 401 (NotAuthenticated), one whose user
lacks the permission with 403. A state change then goes through its
:mod:`flowforge_admin.actions` class, which checks the same permission again.
"""

from rest_framework.permissions import BasePermission

VIEW_FLOW = "flowforge_admin.view_flow"
VIEW_RUN = "flowforge_admin.view_flowrun"


class ActionPermission(BasePermission):
    """Grants an action when the user is authenticated, active and has its permission."""

    message = "You do not have the permission this needs."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 for a request that did not authenticate
        needed = view.required_permission()
        if needed and not user.has_perm(needed):
            self.message = f"{user.get_username()} may not do this: {needed} is needed."
            return False
        return True
