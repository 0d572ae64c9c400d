"""What tasks produced: a task run's output, its artifacts (files, never loaded here) and metrics."""

from django.urls import reverse
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...models import Artifact, Metric
from .common import absolute
from .runs import TaskRunSerializer


@extend_schema_field(OpenApiTypes.URI)
class ArtifactDownloadField(serializers.Field):
    """Where the artifact's file is downloaded through this API (an earlier attempt's with ?attempt=)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, artifact):
        task_run = artifact.task_run or artifact.task_attempt.task_run
        path = reverse("flowforge_admin:api-task-artifact", args=[task_run.run_id, task_run.task_name])
        if artifact.task_run_id is None:
            path += "?" + urlencode({"attempt": artifact.attempt})
        return absolute(self.context.get("request"), path)


class ArtifactSerializer(serializers.ModelSerializer):
    """An output that is not JSON, stored as a file: its description and preview, never its value."""

    task = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField(help_text="Whether it is the task run's current output.")
    download_url = ArtifactDownloadField()

    class Meta:
        model = Artifact
        fields = [
            "id",
            "task",
            "attempt",
            "current",
            "type_name",
            "serializer",
            "size",
            "preview",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_task(self, artifact) -> str:
        return (artifact.task_run or artifact.task_attempt.task_run).task_name

    def get_current(self, artifact) -> bool:
        return artifact.task_run_id is not None


class MetricSerializer(serializers.ModelSerializer):
    task = serializers.CharField(source="task_run.task_name", read_only=True)
    value = serializers.FloatField(read_only=True, allow_null=True, help_text="null stands for NaN.")

    class Meta:
        model = Metric
        fields = ["id", "task", "attempt", "name", "value", "step", "logged_at"]
        read_only_fields = fields


class TaskRunDetailSerializer(TaskRunSerializer):
    """One task of a run, with its JSON output, traceback and artifact (if it made one)."""

    output = serializers.JSONField(read_only=True, help_text="The JSON output; null with an artifact.")
    artifact = ArtifactSerializer(read_only=True, allow_null=True, source="current_artifact")

    class Meta(TaskRunSerializer.Meta):
        fields = [*TaskRunSerializer.Meta.fields, "output", "traceback", "artifact"]
        read_only_fields = fields
