"""How an API request says who it is: ``Authorization: Bearer <token>`` (per-user API tokens).

A request with another scheme (or none) is left to the next authentication
class (the session, for the browsable docs). A request that says ``Bearer``
gets either its token's user or a 401 that says what is wrong: a client that
sends a token wants to know why it was refused, not to be served as
anonymous.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from ..models.tokens import TOKEN_PREFIX, ApiToken, digest

# A token is TOKEN_PREFIX and 43 URL-safe characters; anything far longer is not one of ours.
MAX_TOKEN_LENGTH = 200


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer <token>`` against the users' API tokens.

    ``request.user`` is the token's user and ``request.auth`` the
    :class:`~flowforge_admin.models.ApiToken` (throttles key on it).
    Put this class first in a view's ``authentication_classes``: DRF takes the
    first class's :meth:`authenticate_header`, and only a class that names a
    scheme turns "no credentials" into a 401 rather than a 403.
    """

    keyword = "Bearer"
    messages = {
        "no_token": _("Invalid Authorization header: no token after 'Bearer'."),
        "spaces": _("Invalid Authorization header: the token must not contain spaces."),
        "malformed": _("Invalid Authorization header: that is not an API token."),
        "unknown": _("Invalid API token."),
        "revoked": _("This API token has been revoked."),
        "expired": _("This API token has expired."),
        "inactive": _("The user of this API token is inactive."),
        "not_staff": _("The user of this API token is no longer a staff member."),
    }

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None
        if len(words) == 1:
            self.fail("no_token")
        if len(words) > 2:
            self.fail("spaces")
        try:
            token = words[1].decode("ascii")
        except UnicodeDecodeError:
            self.fail("malformed")
        if len(token) > MAX_TOKEN_LENGTH:
            self.fail("malformed")
        return self.authenticate_credentials(token)

    def authenticate_credentials(self, token):
        """Return ``(user, ApiToken)`` for a usable token of an active staff user, else fail.

        The lookup is by the SHA-256 digest through the database's unique
        index, not a comparison of secrets in Python, so there is nothing to
        time: the index compares digests, and learning how much of a digest
        matched says nothing about a token made of 32 random bytes (finding
        a token whose digest starts like a stored one is as hard as guessing it).
        """
        if not token.startswith(TOKEN_PREFIX):
            self.fail("unknown")  # not one of ours: no query needed
        row = ApiToken.objects.select_related("user").filter(key_digest=digest(token)).first()
        if row is None:
            self.fail("unknown")
        if row.revoked_at is not None:
            self.fail("revoked")
        if not row.is_usable():
            self.fail("expired")
        if not row.user.is_active:
            self.fail("inactive")
        # Tokens are made in the admin, by staff; one that leaves the staff leaves the API too.
        if not row.user.is_staff:
            self.fail("not_staff")
        row.touch()
        return row.user, row

    def fail(self, reason):
        raise AuthenticationFailed(self.messages[reason], code=reason)

    def authenticate_header(self, request):
        # A 401 (not a 403) for requests without credentials: DRF sends this as WWW-Authenticate.
        return self.keyword
