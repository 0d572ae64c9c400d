"""Runs and their task runs, in the one status vocabulary (flowforge_admin.states)."""

from rest_framework import serializers

from ...models import FlowRun, TaskRun
from ...states import TaskState
from .common import AdminLinkField, ApiLinkField, RunStatusField, TaskStatusField

# {task status: number of task runs}, one field per status: the run's kept counters.
TaskCountsSerializer = type(
    "TaskCountsSerializer",
    (serializers.Serializer,),
    {state: serializers.IntegerField(read_only=True) for state in TaskState.values},
)


class FlowRunSerializer(serializers.ModelSerializer):
    """A run as the list shows it."""

    flow = serializers.CharField(source="flow_name", read_only=True, help_text="The flow's name.")
    status = RunStatusField(read_only=True)
    triggered_by = serializers.ChoiceField(choices=FlowRun.Trigger.choices, read_only=True)
    triggered_by_user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    schedule = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    is_finished = serializers.BooleanField(read_only=True)
    task_counts = TaskCountsSerializer(read_only=True)
    url = ApiLinkField("api-run-detail", lambda run: [run.pk])
    admin_url = AdminLinkField()

    class Meta:
        model = FlowRun
        fields = [
            "id",
            "flow",
            "flow_version",
            "status",
            "is_finished",
            "params",
            "triggered_by",
            "triggered_by_user",
            "schedule",
            "logical_date",
            "data_interval_start",
            "data_interval_end",
            "held",
            "created_at",
            "started_at",
            "finished_at",
            "task_counts",
            "url",
            "admin_url",
        ]
        read_only_fields = fields


class TaskRunSerializer(serializers.ModelSerializer):
    """One task of a run: its current attempt."""

    task = serializers.CharField(source="task_name", read_only=True)
    status = TaskStatusField(read_only=True)
    url = ApiLinkField("api-task-detail", lambda task_run: [task_run.run_id, task_run.task_name])
    logs_url = ApiLinkField(
        "api-task-logs", lambda task_run: [task_run.run_id, task_run.task_name], help_text="Its log lines."
    )

    class Meta:
        model = TaskRun
        fields = [
            "id",
            "task",
            "map_index",
            "status",
            "attempt",
            "max_attempts",
            "lost_attempts",
            "pool",
            "queued_at",
            "started_at",
            "finished_at",
            "next_attempt_at",
            "checks",
            "approval_group",
            "error",
            "url",
            "logs_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "next_attempt_at": {
                "help_text": "Retrying: when its next attempt starts; waiting (a sensor): when its next check is due; "
                "waiting (an approval step): when it times out."
            },
            "checks": {"help_text": "A sensor's checks that found nothing yet (this round)."},
            "approval_group": {
                "help_text": "An approval step's approvers once it waited: a group's name, or \"\" for those "
                "with the approve_task permission; null for any other task."
            },
        }


class FlowRunDetailSerializer(FlowRunSerializer):
    """One run with all its task runs."""

    tasks = TaskRunSerializer(many=True, read_only=True, source="task_run_list")

    class Meta(FlowRunSerializer.Meta):
        fields = [*FlowRunSerializer.Meta.fields, "tasks"]
        read_only_fields = fields
