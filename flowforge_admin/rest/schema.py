"""The OpenAPI schema of the REST API (drf-spectacular) and its interactive docs (Swagger UI).

Everything is set here, per view, so that a host project needs no
``SPECTACULAR_SETTINGS``: the schema lists this app's endpoints only, and the
docs page loads Swagger UI from drf-spectacular-sidecar's static files (no
CDN: it works on a network without internet).
"""

from django.templatetags.static import static
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from .authentication import BearerTokenAuthentication
from .views.base import documented

SETTINGS = {
    "TITLE": "Flow Forge API",
    "DESCRIPTION": (
        "Flows, runs, logs and outputs of Flow Forge. Send an API token (made in the admin) as "
        "`Authorization: Bearer <token>`; a logged-in admin session works too. A token acts with "
        "its user's permissions (Stakeholder, Operator, Editor)."
    ),
    "VERSION": "1",
    # What DocsView does itself (without patching drf-spectacular's global settings per request).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["flowforge_admin.rest.schema.only_this_api"],
}


def only_this_api(endpoints):
    """drf-spectacular hook: keep the resources of this API: not the schema itself, nor a host's own DRF views."""
    return [
        endpoint
        for endpoint in endpoints
        if endpoint[3].cls.__module__.startswith("flowforge_admin.rest.views.")
    ]


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents BearerTokenAuthentication as HTTP bearer authentication."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token made in the admin."}


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document (YAML, or JSON with ``Accept: application/json``)."""

    custom_settings = SETTINGS
    permission_classes = [AllowAny]
    authentication_classes = []

    # Not in the schema, also when drf-spectacular's own settings make it (its deploy check,
    # a host's `manage.py spectacular`): decorated on our AutoSchema, not DRF's default one.
    @documented(exclude=True)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DocsView(SpectacularSwaggerView):
    """Swagger UI over the schema, from the sidecar's static files; "Try it out" uses the session."""

    url_name = "flowforge_admin:api-schema"
    title = SETTINGS["TITLE"]
    permission_classes = [AllowAny]
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]

    @documented(exclude=True)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @staticmethod
    def _swagger_ui_resource(filename):
        return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon():
        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")
