"""Pieces the serializers share: absolute links, to the API and to the admin, and the refusal body."""

from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...states import RunState, TaskState


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


class VocabularyField(serializers.ChoiceField):
    """A status in the one vocabulary (flowforge_admin.states), named once in the schema as :attr:`schema_name`."""

    schema_name = ""
    vocabulary = None

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", self.vocabulary.choices)
        super().__init__(**kwargs)


class RunStatusField(VocabularyField):
    schema_name = "RunStatus"
    vocabulary = RunState


class TaskStatusField(VocabularyField):
    schema_name = "TaskStatus"
    vocabulary = TaskState


class MarkStatusField(VocabularyField):
    """What a task may be marked: succeeded or failed."""

    schema_name = "MarkStatus"
    vocabulary = TaskState

    def __init__(self, **kwargs):
        super().__init__(choices=[TaskState.SUCCEEDED, TaskState.FAILED], **kwargs)


class VocabularyFieldSchema(OpenApiSerializerFieldExtension):
    """Each vocabulary is one named enum component, whatever the field's name.

    drf-spectacular names inline enums after their field ("status"), and
    warns when one name has several choice sets (runs' and tasks'), unless a
    host sets ENUM_NAME_OVERRIDES; a component of our own needs no setting.
    """

    target_class = VocabularyField
    match_subclasses = True

    def get_name(self):
        return self.target.schema_name

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": list(self.target.choices)}
