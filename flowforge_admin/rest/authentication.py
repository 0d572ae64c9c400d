"""How an API request says who it is: ``Authorization: Bearer <token>`` (per-user API tokens)."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer <token>`` against the users' API tokens."""

    keyword = "Bearer"

    def authenticate(self, request):
        # TEMP minimal lookup for the REST API branch; the API tokens work replaces it.
        from ..models import ApiToken
        from ..models.tokens import digest

        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            token = ApiToken.objects.usable().select_related("user").get(key_digest=digest(parts[1].decode()))
        except (ApiToken.DoesNotExist, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request):
        # A 401 (not a 403) for requests without credentials: DRF sends this as WWW-Authenticate.
        return self.keyword
