"""Runs: the list with the admin's filters, one run with its task runs, its metrics and artifacts,
and the changes of a whole run (cancel, re-run failed, clear), each through its action."""

from django.db.models import F, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from ...actions.runs import CONTROL_PERMISSION, CancelRunAction, ClearTasksAction, RerunFailedAction
from ...models import Artifact, FlowRun, Metric
from ..permissions import VIEW_RUN
from ..serializers.control import ClearSerializer
from ..serializers.filters import RunFilterSerializer
from ..serializers.outputs import ArtifactSerializer, MetricSerializer
from ..serializers.runs import FlowRunDetailSerializer, FlowRunSerializer
from .base import ApiViewSet, documented, execute, refusals

RUN_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The run's id.")
REFUSED = refusals(401, 403, _404="No such run.")
CHANGE_REFUSED = {**REFUSED, **refusals(400, _409="Not possible in the run's current state.")}


def change_schema(summary, request=None):
    """The schema of a POST that changes a run and answers with the run."""
    return documented(
        summary=summary,
        parameters=[RUN_ID],
        request=request,
        responses={200: FlowRunSerializer, **CHANGE_REFUSED},
    )


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Runs, newest first (-created_at, -id); changes need cancel_run (Operator), as the admin's buttons."""

    lookup_url_kwarg = "id"
    lookup_value_regex = r"[0-9]+"
    default_permission = VIEW_RUN
    required_permissions = {
        "cancel": CONTROL_PERMISSION,
        "rerun_failed": CONTROL_PERMISSION,
        "clear": CONTROL_PERMISSION,
    }

    def get_queryset(self):
        return FlowRun.objects.select_related("triggered_by_user", "schedule").order_by("-created_at", "-id")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return FlowRunDetailSerializer
        if self.action == "clear":
            return ClearSerializer
        return FlowRunSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        query = RunFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return query.filter(queryset)

    def get_run(self):
        return get_object_or_404(FlowRun.objects.select_related("flow"), pk=self.kwargs["id"])

    @documented(
        summary="List runs",
        parameters=[RunFilterSerializer],
        responses={200: FlowRunSerializer(many=True), **refusals(400, 401, 403)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @documented(
        summary="A run with its task runs and their counts by status",
        description=(
            "A mapped task's instances are not listed here (there may be 1 000): its task run is, with the "
            "gathered outputs; runs/{id}/tasks/ lists every task run, instances included, paged."
        ),
        parameters=[RUN_ID],
        responses={200: FlowRunDetailSerializer, **REFUSED},
    )
    def retrieve(self, request, *args, **kwargs):
        run = self.get_object()
        run.task_run_list = list(run.task_runs.filter(map_index__isnull=True).order_by("id"))
        return Response(self.get_serializer(run).data)

    def answer(self, run):
        """The run after a change, fresh from the database."""
        run = self.get_queryset().get(pk=run.pk)
        return Response(FlowRunSerializer(run, context=self.get_serializer_context()).data)

    @documented(
        summary="The run's metrics",
        parameters=[RUN_ID],
        responses={200: MetricSerializer(many=True), **REFUSED},
    )
    @action(detail=True, methods=["get"])
    def metrics(self, request, **kwargs):
        run = self.get_run()
        # A value without a step first, on every database (PostgreSQL sorts NULL last by default).
        by_step = F("step").asc(nulls_first=True)
        metrics = Metric.objects.filter(run=run).select_related("task_run").order_by("name", by_step, "id")
        page = self.paginate_queryset(metrics)
        return self.get_paginated_response(
            MetricSerializer(page, many=True, context=self.get_serializer_context()).data
        )

    @documented(
        summary="The run's artifacts (outputs stored as files)",
        description="Descriptions and previews; each file downloads from its `download_url`.",
        parameters=[RUN_ID],
        responses={200: ArtifactSerializer(many=True), **REFUSED},
    )
    @action(detail=True, methods=["get"])
    def artifacts(self, request, **kwargs):
        run = self.get_run()
        artifacts = (
            Artifact.objects.filter(Q(task_run__run=run) | Q(task_attempt__task_run__run=run))
            .select_related("task_run", "task_attempt__task_run")
            .order_by("id")
        )
        page = self.paginate_queryset(artifacts)
        serializer = ArtifactSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    @change_schema("Cancel the run")
    @action(detail=True, methods=["post"])
    def cancel(self, request, **kwargs):
        run = self.get_run()
        execute(CancelRunAction(run, user=request.user))
        return self.answer(run)

    @change_schema("Re-run the failed, upstream-failed and cancelled tasks of a finished run")
    @action(detail=True, methods=["post"], url_path="rerun-failed", url_name="rerun-failed")
    def rerun_failed(self, request, **kwargs):
        run = self.get_run()
        execute(RerunFailedAction(run, user=request.user))
        return self.answer(run)

    @change_schema("Clear tasks: run them again as new attempts (with what waits for them)", ClearSerializer)
    @action(detail=True, methods=["post"])
    def clear(self, request, **kwargs):
        run = self.get_run()
        body = ClearSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        execute(ClearTasksAction(run, data["tasks"], downstream=data["downstream"], user=request.user))
        return self.answer(run)
