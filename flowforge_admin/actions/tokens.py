"""The changes people make to their API tokens: create one, revoke one.

Every staff user manages their own tokens (``add_apitoken`` and
``change_apitoken``, which all three roles have); a superuser may revoke
anyone's, but creates tokens only for himself, so that no token ever acts
for a user who did not make it. The token in clear is returned once, by
:class:`IssueTokenAction`, and stored nowhere.
"""

from datetime import UTC

from django.contrib.admin.models import ADDITION
from django.core.exceptions import PermissionDenied

from ..models import ApiToken
from ..models.tokens import validate_expiry
from .base import Action

ADD_PERMISSION = "flowforge_admin.add_apitoken"
CHANGE_PERMISSION = "flowforge_admin.change_apitoken"


def describe_expiry(expires_at):
    # The admin log keeps these words for ever: in UTC, whatever the reader's time zone.
    return f"expires {expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if expires_at else "never expires"


class IssueTokenAction(Action):
    """Create an API token named ``name`` for ``owner``; return ``(ApiToken, token in clear)``.

    ``expires_at`` (None: never) must pass
    :func:`~flowforge_admin.models.tokens.validate_expiry`, else
    ``ValidationError`` and nothing is made. A user may only create tokens
    for himself (``owner`` is the acting user, superuser or not).
    """

    permission = ADD_PERMISSION
    log_flag = ADDITION

    def __init__(self, owner, name, *, expires_at=None, user=None):
        super().__init__(user=user)
        self.owner = owner
        self.name = name
        self.expires_at = expires_at

    def describe(self):
        return f"create an API token for {self.owner}"

    def check(self):
        super().check()
        if self.user is not None and self.user.pk != self.owner.pk:
            raise PermissionDenied(
                f"{self.user} may not {self.describe()}: a user creates only his own tokens"
            )

    def perform(self):
        validate_expiry(self.expires_at)
        return ApiToken.objects.issue(self.owner, self.name, expires_at=self.expires_at)

    def log_entries(self, result):
        row, _token = result
        return [(row, f"Created API token {row.name!r} ({row.prefix}…), {describe_expiry(row.expires_at)}.")]


class RevokeTokenAction(Action):
    """Revoke ``token`` for good; return True if it was not revoked before (then nothing is recorded).

    Its owner may revoke it, and so may a superuser.
    """

    permission = CHANGE_PERMISSION

    def __init__(self, token, *, user=None):
        super().__init__(user=user)
        self.token = token

    def describe(self):
        return f"revoke API token {self.token}"

    def check(self):
        super().check()
        if self.user is not None and not self.user.is_superuser and self.user.pk != self.token.user_id:
            raise PermissionDenied(f"{self.user} may not {self.describe()}: it belongs to another user")

    def perform(self):
        return self.token.revoke()

    def log_entries(self, result):
        return [(self.token, "Revoked.")] if result else []
