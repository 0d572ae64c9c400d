"""The run list's filters: the admin run list's (flow, status, trigger, dates, search), as query parameters."""

from rest_framework import serializers

from ...admin.run_order import ORDERINGS
from ...models import FlowRun
from ...states import RunState


class RunFilterSerializer(serializers.Serializer):
    flow = serializers.CharField(required=False, help_text="The flow's name.")
    status = serializers.ChoiceField(choices=RunState.choices, required=False)
    trigger = serializers.ChoiceField(choices=FlowRun.Trigger.choices, required=False)
    created_after = serializers.DateTimeField(required=False, help_text="Created at or after (ISO 8601).")
    created_before = serializers.DateTimeField(required=False, help_text="Created before (ISO 8601).")
    logical_date_after = serializers.DateTimeField(required=False, help_text="Logical date at or after.")
    logical_date_before = serializers.DateTimeField(required=False, help_text="Logical date before.")
    q = serializers.CharField(
        required=False, help_text="A run id (42, #42) finds that run; other text searches flow names."
    )
    logical_order = serializers.ChoiceField(
        choices=list(ORDERINGS),
        required=False,
        help_text="Order by logical date instead of creation (newest first by default).",
    )

    def filter(self, queryset):
        """Return ``queryset`` filtered and ordered as the (valid) query asks."""
        data = self.validated_data
        lookups = {
            "flow": "flow_name",
            "status": "status",
            "trigger": "triggered_by",
            "created_after": "created_at__gte",
            "created_before": "created_at__lt",
            "logical_date_after": "logical_date__gte",
            "logical_date_before": "logical_date__lt",
        }
        queryset = queryset.filter(**{lookup: data[key] for key, lookup in lookups.items() if key in data})
        term = data.get("q", "").strip().lstrip("=#")
        if term.isascii() and term.isdigit():
            # As the admin's search: a number is a run id (beyond the id column's range: no run).
            queryset = queryset.filter(pk=int(term)) if int(term) < 2**63 else queryset.none()
        elif term:
            queryset = queryset.filter(flow_name__icontains=term)
        return queryset.order_by(*ORDERINGS.get(data.get("logical_order"), ["-created_at", "-id"]))
