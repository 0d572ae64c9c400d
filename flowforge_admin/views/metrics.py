"""``/metrics``: Prometheus text format, for Prometheus (bearer token) or staff users.

Prometheus sends ``Authorization: Bearer <FLOWFORGE_METRICS_TOKEN>``; a logged-in
staff user who may view flow runs reads it in a browser. Anyone else gets a
401 with a body that says what is needed, not a redirect to a login page that
Prometheus could not use.
"""

import hmac

from django.http import HttpResponse
from django.views import View
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from ..conf import get_setting
from ..metrics import FlowForgeCollector

BEARER = "bearer "


def denied(status, message):
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


class MetricsView(View):
    http_method_names = ["get", "head"]
    permission = "flowforge_admin.view_flowrun"

    def get(self, request):
        refusal = self.check_access(request)
        if refusal:
            return refusal
        # A registry of its own: the output holds our metrics only, the same in every process.
        registry = CollectorRegistry()
        registry.register(FlowForgeCollector())
        encoder, content_type = choose_encoder(request.headers.get("Accept"))
        return HttpResponse(encoder(registry), content_type=content_type)

    def check_access(self, request):
        """Return None when the request may read the metrics, else the response refusing it."""
        header = request.headers.get("Authorization", "")
        if header:
            return self.check_token(header)
        user = request.user
        if not user.is_authenticated:
            return denied(
                401,
                "Authentication required: send 'Authorization: Bearer <FLOWFORGE_METRICS_TOKEN>', "
                "or log in to the admin as a staff user who may view flow runs.",
            )
        if not (user.is_active and user.is_staff and user.has_perm(self.permission)):
            return denied(
                403, "Forbidden: reading metrics needs staff status and the view_flowrun permission."
            )
        return None

    @staticmethod
    def check_token(header):
        expected = get_setting("FLOWFORGE_METRICS_TOKEN")
        if not expected:
            return denied(401, "Token access to metrics is off: FLOWFORGE_METRICS_TOKEN is not set.")
        if header[: len(BEARER)].lower() != BEARER:
            return denied(401, "Unsupported Authorization scheme: send 'Authorization: Bearer <token>'.")
        given = header[len(BEARER) :].strip()
        # Constant time: the comparison must not tell how much of a guess was right.
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return denied(401, "Invalid metrics token.")
        return None
