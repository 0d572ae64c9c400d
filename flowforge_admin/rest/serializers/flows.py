"""Flows: the list (with each flow's task count and newest run), one flow with its tasks and graph."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...models import Flow
from .common import AdminLinkField, ApiLinkField, RunStatusField


class LastRunSerializer(serializers.Serializer):
    """The flow's newest run, or null (read from the list query's annotations)."""

    id = serializers.IntegerField(source="last_run_id")
    status = RunStatusField(source="last_run_status")
    created_at = serializers.DateTimeField(source="last_run_at")

    def get_attribute(self, instance):
        return instance if getattr(instance, "last_run_id", None) is not None else None


class FlowSerializer(serializers.ModelSerializer):
    """A flow as the list shows it."""

    title = serializers.CharField(source="__str__", read_only=True, help_text="Display name, else name.")
    paused = serializers.BooleanField(source="is_paused", read_only=True)
    task_count = serializers.IntegerField(read_only=True)
    last_run = LastRunSerializer(read_only=True, allow_null=True)
    url = ApiLinkField("api-flow-detail", lambda flow: [flow.name])
    admin_url = AdminLinkField()

    class Meta:
        model = Flow
        fields = [
            "name",
            "display_name",
            "title",
            "description",
            "paused",
            "version",
            "task_count",
            "last_run",
            "url",
            "admin_url",
        ]
        read_only_fields = fields


class TaskSerializer(serializers.Serializer):
    """One task of a flow's definition (groups included), from the drawing's data."""

    name = serializers.CharField()
    label = serializers.CharField(help_text="Verbose name, else name.")
    parent = serializers.CharField(allow_null=True, help_text="The group it is nested in.")
    depends_on = serializers.ListField(child=serializers.CharField(), help_text="Upstream task names.")
    function = serializers.CharField(help_text="Dotted path; empty for a pure group.")
    params = serializers.DictField(help_text="The task's default parameters.")
    retries = serializers.IntegerField()
    retry_delay = serializers.IntegerField(help_text="Seconds.")
    timeout = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    pool = serializers.CharField()
    pool_slots = serializers.IntegerField()
    queue = serializers.CharField()
    sensor = serializers.DictField(
        allow_null=True, help_text='Null, or {"interval": s, "timeout": s, "on_timeout": "fail" | "skip"}.'
    )
    approval = serializers.DictField(
        allow_null=True,
        help_text='Null, or an approval step\'s {"group": name, "params_schema": {...}, "timeout": s}.',
    )
    docstring = serializers.CharField()


@extend_schema_field(OpenApiTypes.OBJECT)
class GraphField(serializers.DictField):
    """The DAG drawing's JSON, as the admin's ``graph/data/`` serves it."""


class FlowDetailSerializer(FlowSerializer):
    """One flow: its settings, tasks with dependencies, parameters schema and graph."""

    params = serializers.JSONField(read_only=True, help_text="Default parameters of every run.")
    params_schema = serializers.JSONField(read_only=True, help_text="JSON Schema of a run's parameters.")
    tasks = TaskSerializer(many=True, read_only=True, source="graph.tasks")
    graph = GraphField(read_only=True)

    class Meta(FlowSerializer.Meta):
        fields = [
            *FlowSerializer.Meta.fields,
            "origin",
            "max_active_runs",
            "params",
            "params_schema",
            "created_at",
            "updated_at",
            "tasks",
            "graph",
        ]
        read_only_fields = fields
