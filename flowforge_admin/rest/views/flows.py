"""Flows: the list, one flow (tasks, schema, graph), its definition file, and launching a run of it."""

from django.db.models import Count, OuterRef, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from ...actions.runs import LAUNCH_PERMISSION, LaunchFlowAction
from ...admin.graph_data import flow_graph
from ...definitions.files.formats import format_for
from ...definitions.files.resource import FlowDefinitionResource
from ...models import Flow, FlowRun
from ..permissions import VIEW_FLOW
from ..serializers.control import LaunchErrorSerializer, LaunchSerializer, launch_errors
from ..serializers.flows import FlowDetailSerializer, FlowSerializer
from ..serializers.runs import FlowRunSerializer
from .base import ApiViewSet, BadRequest, documented, execute, refusals

# The formats of a definition file the API serves (the text ones of export_flows).
FILE_FORMATS = ["yaml", "json"]

NAME = OpenApiParameter("name", str, OpenApiParameter.PATH, description="The flow's machine name.")
REFUSED = refusals(401, 403)
NOT_FOUND = refusals(_404="No flow of that name.")


class FlowViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Flows by name, in name order; ``runs`` launches one (Operator: launch_flow)."""

    lookup_field = "name"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    default_permission = VIEW_FLOW
    required_permissions = {"launch": LAUNCH_PERMISSION}

    def get_queryset(self):
        # The newest run's id, status and time in the same query as the flows,
        # as the admin's flow list reads them (the run table's (flow, -created_at) index).
        newest = FlowRun.objects.filter(flow=OuterRef("pk")).order_by("-created_at", "-id")
        return Flow.objects.annotate(
            task_count=Count("tasks"),
            last_run_id=Subquery(newest.values("pk")[:1]),
            last_run_status=Subquery(newest.values("status")[:1]),
            last_run_at=Subquery(newest.values("created_at")[:1]),
        ).order_by("name", "id")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return FlowDetailSerializer
        if self.action == "launch":
            return LaunchSerializer
        return FlowSerializer

    @documented(summary="List flows", responses={200: FlowSerializer(many=True), **REFUSED})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @documented(
        summary="A flow with its tasks, parameters schema and graph",
        parameters=[NAME],
        responses={200: FlowDetailSerializer, **REFUSED, **NOT_FOUND},
    )
    def retrieve(self, request, *args, **kwargs):
        flow = self.get_object()
        flow.graph = flow_graph(flow)
        return Response(self.get_serializer(flow).data)

    @documented(
        summary="The flow's definition file",
        description="The same file as `manage.py export_flows --format F NAME` and the admin's export.",
        parameters=[
            NAME,
            OpenApiParameter("file_format", str, enum=FILE_FORMATS, description="Default yaml."),
        ],
        responses={
            (200, "application/yaml"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            **REFUSED,
            **NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"], url_path="definition", url_name="definition")
    def definition(self, request, name=None):
        flow = get_object_or_404(Flow, name=name)
        file_format = request.query_params.get("file_format", "yaml")
        if file_format not in FILE_FORMATS:
            raise BadRequest(f"file_format must be one of {', '.join(FILE_FORMATS)}, not {file_format!r}.")
        content = FlowDefinitionResource().export_file(Flow.objects.filter(pk=flow.pk), file_format)
        response = HttpResponse(content, content_type=format_for(file_format).get_content_type())
        response["Content-Disposition"] = f'attachment; filename="{flow.name}.{file_format}"'
        return response

    @documented(
        summary="Launch a run",
        description=(
            "Launches a run of the flow, as the admin's Run button does (needs launch_flow). "
            "Parameter errors are refused with the launch form's messages, per parameter; "
            "a paused flow with 409."
        ),
        parameters=[NAME],
        request=LaunchSerializer,
        responses={
            201: FlowRunSerializer,
            400: LaunchErrorSerializer,
            **REFUSED,
            **NOT_FOUND,
            **refusals(_409="The flow is paused."),
        },
    )
    @action(detail=True, methods=["post"], url_path="runs", url_name="launch")
    def launch(self, request, name=None):
        flow = get_object_or_404(Flow, name=name)
        body = LaunchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        launch_action = LaunchFlowAction(
            flow,
            body.validated_data["params"],
            user=request.user,
            how="Launched through the REST API",
            logical_date=body.validated_data.get("logical_date"),
        )
        try:
            run = execute(launch_action)
        except BadRequest as error:
            # Sorted per parameter, as the launch form shows them.
            return Response(launch_errors(error.messages), status=status.HTTP_400_BAD_REQUEST)
        data = FlowRunSerializer(run, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})
