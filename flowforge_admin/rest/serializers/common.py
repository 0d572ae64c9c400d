"""Pieces the serializers share: absolute links, to the API and to the admin, and the refusal body."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def absolute(request, path):
    """``path`` as an absolute URL of this request's host (the path alone without a request)."""
    return request.build_absolute_uri(path) if request is not None else path


@extend_schema_field(OpenApiTypes.URI)
class AdminLinkField(serializers.Field):
    """The absolute URL of an object's page in the admin (its ``get_absolute_url``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Its page in the Django admin.")
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return absolute(self.context.get("request"), value.get_absolute_url())


@extend_schema_field(OpenApiTypes.URI)
class ApiLinkField(serializers.Field):
    """The absolute URL of the API route ``route`` (in the app's namespace), with ``args(obj)``."""

    def __init__(self, route, args, **kwargs):
        self.route, self.args = route, args
        kwargs.setdefault("help_text", "Its URL in this API.")
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        path = reverse(f"flowforge_admin:{self.route}", args=self.args(value))
        return absolute(self.context.get("request"), path)


class DetailSerializer(serializers.Serializer):
    """The body of every refusal: ``{"detail": "what is wrong"}``."""

    detail = serializers.CharField()
