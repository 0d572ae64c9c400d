"""How an API request says who it is: ``Authorization: Bearer <token>`` (per-user API tokens)."""

from rest_framework.authentication import BaseAuthentication


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer <token>`` against the users' API tokens."""

    keyword = "Bearer"

    def authenticate(self, request):
        # Filled in by the API tokens work (issue 21): until then no request authenticates by token.
        return None

    def authenticate_header(self, request):
        # A 401 (not a 403) for requests without credentials: DRF sends this as WWW-Authenticate.
        return self.keyword
