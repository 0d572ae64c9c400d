"""The tasks of a run: one task run, its log (pages and download), its artifact's file,
and the changes of one task (retry, mark), each through its action."""

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header, urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from ... import logs_query
from ...actions.approvals import DecideApprovalAction
from ...actions.runs import CONTROL_PERMISSION, MarkTaskAction, RetryTaskAction
from ...admin.attempt_outcome import output_owner
from ...admin.output_views import download_filename, record_download
from ...admin.outputs import artifact_of
from ...artifacts.storage import get_storage
from ...models import FlowRun, TaskAttempt, TaskRun
from ..pagination import PAGE_SIZE
from ..permissions import VIEW_RUN
from ..serializers.control import ApproveSerializer, MarkSerializer, RejectSerializer
from ..serializers.logs import LogPageSerializer, LogQuerySerializer
from ..serializers.outputs import TaskRunDetailSerializer
from ..serializers.runs import FlowRunSerializer, TaskRunSerializer
from .base import ApiViewSet, documented, execute, refusals

PATH = [
    OpenApiParameter("id", int, OpenApiParameter.PATH, description="The run's id."),
    OpenApiParameter("task", str, OpenApiParameter.PATH, description="The task's name."),
]
RUN_PATH = PATH[:1]
ATTEMPT = OpenApiParameter("attempt", int, description="An earlier attempt's (default: the current one).")
REFUSED = refusals(401, 403, _404="No such run, task or attempt.")
CHANGE_REFUSED = {**REFUSED, **refusals(400, _409="Not possible in the task's current state.")}


class TaskRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """A run's task runs by task name (``runs/{id}/tasks/{task}/``), in the order they were made."""

    lookup_field = "task_name"
    lookup_url_kwarg = "task"
    lookup_value_regex = r"[^/]+"
    default_permission = VIEW_RUN
    # Approving asks only that the user be one of the step's approvers (DecideApprovalAction).
    required_permissions = {
        "retry": CONTROL_PERMISSION,
        "mark": CONTROL_PERMISSION,
        "approve": "",
        "reject": "",
    }

    def get_run(self):
        return get_object_or_404(FlowRun.objects.select_related("flow"), pk=self.kwargs["id"])

    def get_queryset(self):
        run = self.get_run()
        task_runs = TaskRun.objects.filter(run=run).select_related("run").order_by("id")
        if self.action == "retrieve":
            task_runs = task_runs.select_related("artifact")
        return task_runs

    def get_serializer_class(self):
        if self.action == "retrieve":
            return TaskRunDetailSerializer
        if self.action == "mark":
            return MarkSerializer
        if self.action == "approve":
            return ApproveSerializer
        if self.action == "reject":
            return RejectSerializer
        return TaskRunSerializer

    @documented(
        summary="The run's task runs",
        parameters=RUN_PATH,
        responses={200: TaskRunSerializer(many=True), **REFUSED},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @documented(
        summary="One task run, with its output",
        parameters=PATH,
        responses={200: TaskRunDetailSerializer, **REFUSED},
    )
    def retrieve(self, request, *args, **kwargs):
        task_run = self.get_object()
        task_run.current_artifact = artifact_of(task_run)
        return Response(self.get_serializer(task_run).data)

    def answer(self, task_run):
        run = FlowRun.objects.select_related("triggered_by_user", "schedule").get(pk=task_run.run_id)
        return Response(FlowRunSerializer(run, context=self.get_serializer_context()).data)

    # Changes

    @documented(
        summary="Retry a failed or cancelled task (with what waits for it)",
        parameters=PATH,
        request=None,
        responses={200: FlowRunSerializer, **CHANGE_REFUSED},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, **kwargs):
        task_run = self.get_object()
        execute(RetryTaskAction(task_run, user=request.user))
        return self.answer(task_run)

    @documented(
        summary="Mark a task succeeded or failed, with a reason",
        parameters=PATH,
        request=MarkSerializer,
        responses={200: FlowRunSerializer, **CHANGE_REFUSED},
    )
    @action(detail=True, methods=["post"])
    def mark(self, request, **kwargs):
        task_run = self.get_object()
        body = MarkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        execute(MarkTaskAction(task_run, data["status"], data["reason"], user=request.user))
        return self.answer(task_run)

    @documented(
        summary="Approve a waiting approval step (its approvers only)",
        parameters=PATH,
        request=ApproveSerializer,
        responses={200: FlowRunSerializer, **CHANGE_REFUSED},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, **kwargs):
        task_run = self.get_object()
        body = ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        execute(
            DecideApprovalAction(
                task_run, approve=True, comment=data["comment"], data=data["data"], user=request.user
            )
        )
        return self.answer(task_run)

    @documented(
        summary="Reject a waiting approval step, with a comment (its approvers only)",
        parameters=PATH,
        request=RejectSerializer,
        responses={200: FlowRunSerializer, **CHANGE_REFUSED},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, **kwargs):
        task_run = self.get_object()
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execute(
            DecideApprovalAction(
                task_run, approve=False, comment=body.validated_data["comment"], user=request.user
            )
        )
        return self.answer(task_run)

    # The log

    def log_filter(self, task_run):
        """Return (the valid query, its LogFilter); 400 on a bad query, 404 on an attempt it never had."""
        query = LogQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        attempt = data.get("attempt") or task_run.attempt
        if attempt > task_run.attempt:
            # The admin log page's words.
            raise Http404(f"This task run has no attempt {attempt}.")
        log_filter = logs_query.LogFilter(
            task_run_id=task_run.pk,
            attempt=attempt,
            min_level=logs_query.LEVELS.get(data.get("level")),
            search=data.get("q", ""),
        )
        return data, log_filter

    def page_link(self, query, **cursor):
        """This URL with the query's filters and ``cursor`` (before= or after=)."""
        keep = {key: query[key] for key in ("attempt", "level", "q", "page_size") if key in query}
        path = self.request.path + "?" + urlencode({**keep, **cursor})
        return self.request.build_absolute_uri(path)

    @documented(
        summary="A page of the task's log lines",
        description=(
            "Keyset pages of one attempt, as the admin's log page: without a cursor the newest lines "
            "(where a running task writes), `after=0` the first ones. Follow `previous` and `next`."
        ),
        parameters=[*PATH, LogQuerySerializer],
        responses={200: LogPageSerializer, **REFUSED},
    )
    @action(detail=True, methods=["get"])
    def logs(self, request, **kwargs):
        task_run = self.get_object()
        query, log_filter = self.log_filter(task_run)
        size = query.get("page_size", PAGE_SIZE)
        page = logs_query.read_page(log_filter, size, before=query.get("before"), after=query.get("after"))
        data = {
            "task": task_run.task_name,
            "status": task_run.status,
            "attempt": log_filter.attempt,
            "current_attempt": task_run.attempt,
            "finished": task_run.is_finished or 0 < log_filter.attempt < task_run.attempt,
            "lines": page.lines,
            "previous": self.page_link(query, before=page.older_before) if page.older_before else None,
            "next": self.page_link(query, after=page.newer_after) if page.newer_after is not None else None,
        }
        return Response(LogPageSerializer(data).data)

    @documented(
        summary="The whole log of one attempt, as text",
        parameters=[*PATH, ATTEMPT],
        responses={(200, "text/plain"): OpenApiTypes.STR, **REFUSED},
    )
    @action(detail=True, methods=["get"], url_path="logs/download", url_name="logs-download")
    def logs_download(self, request, **kwargs):
        task_run = self.get_object()
        _query, log_filter = self.log_filter(task_run)
        # The whole attempt, as the admin's download: filters are for reading on screen.
        log_filter = logs_query.LogFilter(task_run_id=task_run.pk, attempt=log_filter.attempt)
        lines = (line.as_text() for line in logs_query.iter_lines(log_filter))
        response = StreamingHttpResponse(lines, content_type="text/plain; charset=utf-8")
        run = task_run.run
        filename = f"{run.flow_name}-run{run.pk}-{task_run.task_name}-attempt{log_filter.attempt}.log"
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
        return response

    # The artifact

    @documented(
        summary="The file of the task's artifact (an output that is not JSON)",
        description="Streamed as stored, never loaded; each download is recorded in the run's history.",
        parameters=[*PATH, ATTEMPT],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **REFUSED},
    )
    @action(detail=True, methods=["get"])
    def artifact(self, request, **kwargs):
        task_run = self.get_object()
        run = task_run.run
        owner = output_owner(task_run, request.query_params.get("attempt"))
        earlier = owner.attempt if isinstance(owner, TaskAttempt) else None
        artifact = artifact_of(owner)
        if artifact is None:
            of_attempt = f", attempt {earlier}," if earlier else ""
            raise Http404(
                f"Task {task_run.task_name}{of_attempt} of this run has no stored output file to download."
            )
        try:
            file = get_storage().open(artifact.path, "rb")
        except OSError:
            raise Http404(
                f"The output file of task {task_run.task_name} is missing from the artifact storage."
            ) from None
        record_download(run, task_run, owner, request.user)  # as the admin's download
        return FileResponse(
            file,
            as_attachment=True,
            filename=download_filename(run, task_run, artifact, earlier),
            content_type="application/octet-stream",
        )
