"""What every view of the REST API shares, set here so that a host project needs no REST_FRAMEWORK setting.

Authentication: a Bearer API token, else Django's session (the interactive
docs); permissions: the admin's Django permissions (permissions.py);
throttles per token (throttles.py); pages (pagination.py); JSON only.
State changes run their :mod:`flowforge_admin.actions` class, whose refusals
become 403 (not allowed for you), 409 (not possible now) or 400 (not valid),
with the action's own message.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.viewsets import GenericViewSet

from ...exceptions import InvalidTransition, refusal_message
from ..authentication import BearerTokenAuthentication
from ..pagination import ApiPagination
from ..permissions import ActionPermission
from ..serializers.common import DetailSerializer
from ..throttles import ReadThrottle, WriteThrottle

# What each refusal means, for the schema; refusals() words the 404 and 409 per resource.
REFUSALS = {
    400: "The request is not valid.",
    401: "No valid token or session.",
    403: "The user lacks the permission.",
}


def refusals(*codes, **texts):
    """The schema's responses ``{code: {"detail": ...}}`` for ``codes`` and for ``texts`` (``_404="No such run."``)."""
    described = {code: REFUSALS[code] for code in codes}
    described.update({int(code.lstrip("_")): text for code, text in texts.items()})
    return {code: OpenApiResponse(DetailSerializer, description=text) for code, text in described.items()}


class Conflict(exceptions.APIException):
    """409: the change is not possible in the object's current state (InvalidTransition)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Not possible now."
    default_code = "conflict"


class BadRequest(exceptions.APIException):
    """400 with one message: ``{"detail": "..."}``; ``messages`` keeps the ValidationError's list."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "invalid"

    def __init__(self, detail=None, messages=None):
        super().__init__(detail)
        self.messages = messages or [str(self.detail)]


class ApiViewSet(GenericViewSet):
    """Base of the API's viewsets; ``required_permissions`` maps each action to the permission it needs."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [ActionPermission]
    throttle_classes = [ReadThrottle, WriteThrottle]
    pagination_class = ApiPagination
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    schema = AutoSchema()
    #: {action: "app_label.codename"}; an action not listed needs :attr:`default_permission`.
    required_permissions = {}
    default_permission = ""

    def required_permission(self):
        """The permission the current action needs (ActionPermission asks it)."""
        return self.required_permissions.get(self.action, self.default_permission)


def execute(action):
    """Run an action (actions/); turn its refusal into the API's error, with the action's message."""
    try:
        return action.execute()
    except PermissionDenied as error:
        raise exceptions.PermissionDenied(str(error)) from None
    except InvalidTransition as error:
        raise Conflict(str(error)) from None
    except ValidationError as error:
        raise BadRequest(refusal_message(error), error.messages) from None


def documented(**kwargs):
    """``extend_schema`` for a view method, built on drf-spectacular's AutoSchema.

    ``extend_schema`` builds a method's schema on DRF's DEFAULT_SCHEMA_CLASS
    unless the method already names one; naming it here spares host projects
    a REST_FRAMEWORK setting.
    """

    def decorate(method):
        if not hasattr(method, "kwargs"):
            method.kwargs = {}
        method.kwargs.setdefault("schema", AutoSchema)
        return extend_schema(**kwargs)(method)

    return decorate
