"""Throttles of the REST API: so that a runaway client cannot flood the queue.

Each API token has its own allowance (a logged-in browser session counts as
its user; requests without credentials never get this far: they are refused
with 401 first). Reads (GET, HEAD, OPTIONS) and changes (POST) are counted
apart, at the rates of ``FLOWFORGE_API_THROTTLE``. The counts live in
Django's "default" cache: with several web processes it must be one they
share (Redis, or a file-based cache on one machine), or each process would
count on its own.
"""

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from ..conf import get_setting
from ..models import ApiToken


class ApiRateThrottle(SimpleRateThrottle):
    """Counts one kind of request (:attr:`scope`: "read" or "write") per token or user."""

    #: Whether this throttle counts safe methods (reads) or the others (changes).
    safe = True

    def get_rate(self):
        # Read when a view is called, not at import: override_settings works in tests.
        return (get_setting("FLOWFORGE_API_THROTTLE") or {}).get(self.scope)

    def allow_request(self, request, view):
        if (request.method in SAFE_METHODS) != self.safe:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"address-{self.get_ident(request)}"
        return self.cache_format % {"scope": f"flowforge-api-{self.scope}", "ident": ident}


class ReadThrottle(ApiRateThrottle):
    scope = "read"
    safe = True


class WriteThrottle(ApiRateThrottle):
    scope = "write"
    safe = False
