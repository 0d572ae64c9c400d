"""Runs in the admin: the run list, the run page (live), and the buttons that change a run.

Run records are written by the engine only; people change them through the
actions (:mod:`flowforge_admin.actions.runs`: cancel, re-run failed, retry,
mark, clear, launch again), each behind its permission, by POST; the action records
the change in the run's history and the admin log.
"""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from ..actions.approvals import DecidableBy
from ..actions.runs import (
    CONTROL_PERMISSION,
    LAUNCH_PERMISSION,
    CancelRunAction,
    MarkTaskAction,
    RerunFailedAction,
    RetryTaskAction,
)
from ..exceptions import InvalidTransition, refusal_message
from ..models import FlowRun, TaskRun
from ..states import RUN_FINISHED, TaskState
from ..templatetags.flowforge import breakable, duration, local_datetime, status_badge
from . import attempt_outcome, output_views, run_again_views, run_live, run_metrics, run_page
from .compare import CompareRunsMixin
from .date_hierarchy import DrillDownChangeList
from .graph import graph_urls
from .instance_views import instance_urls
from .paginator import EstimatedCountPaginator
from .run_alerts import alert_deliveries
from .run_order import LogicalDateOrder, LogicalDateOrderMixin
from .task_pages import select_tasks

# The run page's History section shows this many of the newest events.
HISTORY_EVENTS = 50

# Every state change is a POST (with Django's CSRF check); a GET gets 405.
method_require_post = method_decorator(require_POST)
method_require_get = method_decorator(require_GET)


@admin.register(FlowRun)
class FlowRunAdmin(LogicalDateOrderMixin, CompareRunsMixin, admin.ModelAdmin):
    """Run records are written by the engine only: this admin reads them and offers the controls."""

    list_display = [
        "run",
        "flow_link",
        "status_badge",
        "trigger",
        "started",
        "run_duration",
        "tasks_done",
    ]
    # Logical date: ranges (today, past 7 days, ...) over its own index, no query to list them.
    list_filter = [
        "status",
        "flow",
        "triggered_by",
        ("logical_date", admin.DateFieldListFilter),
        LogicalDateOrder,
    ]
    list_select_related = ["flow", "triggered_by_user", "schedule"]
    # A run id is looked up by its key (see get_search_results), not as text.
    search_fields = ["flow_name"]
    date_hierarchy = "created_at"
    # 100 000 runs: no second COUNT(*) of the whole table on every page, and an
    # estimate instead of the first one when the list is not filtered (PostgreSQL).
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["flow_link", "flow_version", "trigger", "params_json"]}),
    ]
    readonly_fields = ["flow_link", "flow_version", "trigger", "params_json"]
    change_form_template = "admin/flowforge_admin/flowrun/change_form.html"
    view_on_site = False

    class Media:
        css = {
            "all": [
                "flowforge_admin/css/admin.css",
                "flowforge_admin/css/runs.css",
                "flowforge_admin/css/metrics.css",
                "flowforge_admin/css/outputs.css",
            ]
        }

    # The list --------------------------------------------------------------

    @admin.display(description=_("run"), ordering="-id")
    def run(self, flow_run):
        return f"#{flow_run.pk}"

    @admin.display(description=_("flow"), ordering="flow_name")
    def flow_link(self, flow_run):
        if flow_run.flow_id is None:
            return format_html(
                '{} <span class="ff-muted">({})</span>', breakable(flow_run.flow_name), _("deleted")
            )
        url = reverse("admin:flowforge_admin_flow_change", args=[flow_run.flow_id])
        return format_html('<a href="{}">{}</a>', url, breakable(flow_run.flow_name))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, flow_run):
        return status_badge(flow_run.status)

    @admin.display(description=_("triggered by"), ordering="triggered_by")
    def trigger(self, flow_run):
        if flow_run.triggered_by == FlowRun.Trigger.USER and flow_run.triggered_by_user is not None:
            return flow_run.triggered_by_user.get_username()
        by_schedule = (FlowRun.Trigger.SCHEDULE, FlowRun.Trigger.BACKFILL)
        if flow_run.triggered_by in by_schedule and flow_run.schedule is not None:
            url = reverse("admin:flowforge_admin_flowschedule_change", args=[flow_run.schedule_id])
            label = flow_run.get_triggered_by_display()
            return format_html('{}: <a href="{}">{}</a>', label, url, flow_run.schedule.name)
        return flow_run.get_triggered_by_display()

    @admin.display(description=_("started"), ordering="started_at")
    def started(self, flow_run):
        if flow_run.started_at is None:
            return "—"
        return local_datetime(flow_run.started_at, "Y-m-d H:i:s")

    # Not sortable: ordering by an expression scans every run (about 1 s at 100 000 on SQLite).
    @admin.display(description=_("duration"))
    def run_duration(self, flow_run):
        end = flow_run.finished_at if flow_run.status in RUN_FINISHED else None
        return duration(run_page.seconds_between(flow_run.started_at, end))

    @admin.display(description=_("succeeded / failed"))
    def tasks_done(self, flow_run):
        failed = flow_run.failed_count + flow_run.upstream_failed_count
        return format_html(
            '<span class="ff-count-ok">{}</span> / <span class="{}">{}</span>',
            flow_run.succeeded_count,
            "ff-count-bad" if failed else "ff-count-ok",
            failed,
        )

    def get_changelist(self, request, **kwargs):
        return DrillDownChangeList

    def get_search_results(self, request, queryset, search_term):
        """A run id (``42``, ``#42`` or ``=42``) finds that run by its key; other text searches flow names."""
        term = search_term.strip().lstrip("=#")
        if term.isascii() and term.isdigit():
            # Django's exact lookup answers "no row" for an id beyond the column's range.
            return queryset.filter(pk=int(term)), False
        return super().get_search_results(request, queryset, search_term)

    def get_object(self, request, object_id, from_field=None):
        # The run page needs who triggered it; the snapshot comes from a
        # per-process cache (run_page.task_order), not from every page load.
        queryset = FlowRun.objects.select_related("flow", "triggered_by_user", "schedule")
        try:
            return queryset.get(pk=int(object_id))
        except (FlowRun.DoesNotExist, ValueError, TypeError):
            return None

    # The run page ----------------------------------------------------------

    @admin.display(description=_("parameters"))
    def params_json(self, flow_run):
        if not flow_run.params:
            return "—"
        return format_html(
            '<pre class="ff-json">{}</pre>', json.dumps(flow_run.params, indent=2, sort_keys=True)
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Runs are history; they go with their retention, not by hand.
        return request.user.is_superuser

    def get_urls(self):
        routes = [
            ("<int:run_id>/live/", self.live_view, "live"),
            ("<int:run_id>/cancel/", self.cancel_view, "cancel"),
            ("<int:run_id>/rerun/", self.rerun_view, "rerun"),
            ("<int:run_id>/relaunch/", self.relaunch_view, "relaunch"),
            ("<int:run_id>/tasks/<int:task_run_id>/retry/", self.retry_view, "retry"),
            ("<int:run_id>/tasks/<int:task_run_id>/mark/", self.mark_view, "mark"),
            ("<int:run_id>/tasks/<int:task_run_id>/clear/", self.clear_view, "clear"),
            ("<int:run_id>/tasks/<int:task_run_id>/output/", self.output_view, "output"),
            (
                "<int:run_id>/tasks/<int:task_run_id>/output/preview/",
                self.output_preview_view,
                "output_preview",
            ),
            ("<int:run_id>/tasks/<int:task_run_id>/artifact/", self.artifact_view, "artifact"),
        ]
        custom = [
            path(route, self.admin_site.admin_view(view), name=f"flowforge_admin_flowrun_{name}")
            for route, view, name in routes
        ]
        return custom + instance_urls(self) + graph_urls(self, "<int:object_id>") + super().get_urls()

    def page_context(self, request, flow_run, task_page=None):
        """The parts of the run page that change while it runs (also sent by the live view).

        The task table and the chart show one page of task runs (task_pages).
        """
        if task_page is None:
            task_page = select_tasks(flow_run, request.GET)
        rows = run_page.task_rows(flow_run, task_page.names)
        return {**self.run_context(request, flow_run, task_page, rows), "rows": rows}

    def run_context(self, request, flow_run, task_page, lines):
        """What every part of the run page needs; the chart is drawn from ``lines``, the page's rows."""
        return {
            "run": flow_run,
            "task_page": task_page,
            "since": str(run_live.Marker(flow_run.revision)),
            "chart": run_page.chart(flow_run, lines),
            "run_seconds": run_page.seconds_between(
                flow_run.started_at, flow_run.finished_at if flow_run.is_finished else None
            ),
            "can_control": request.user.has_perm(CONTROL_PERMISSION),
            "approver_of": DecidableBy(request.user),
            "can_launch": request.user.has_perm(LAUNCH_PERMISSION) and flow_run.flow_id is not None,
            "opts": self.opts,
        }

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self.page_context(request, obj))
            context["events"] = self.get_run_events(obj)
            context["events_limit"] = HISTORY_EVENTS
            context.update(run_metrics.metrics_context(obj))
            context["alert_deliveries"] = alert_deliveries(obj)
            context["title"] = f"{obj.flow_name} #{obj.pk}"
            context["subtitle"] = None  # the title says it already
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_run_events(self, flow_run):
        """Return the run's newest events (RunEvent), at most HISTORY_EVENTS, newest first: one query."""
        return list(flow_run.events.select_related("user").order_by("-created_at", "-id")[:HISTORY_EVENTS])

    # Views behind the page -------------------------------------------------

    def get_run(self, request, run_id, permission=None):
        """Return the run, or raise 404 / PermissionDenied (403)."""
        flow_run = get_object_or_404(FlowRun.objects.select_related("flow"), pk=run_id)
        if not self.has_view_permission(request, flow_run):
            raise PermissionDenied
        if permission is not None and not request.user.has_perm(permission):
            raise PermissionDenied
        return flow_run

    def get_task_run(self, flow_run, task_run_id, related=()):
        try:
            return flow_run.task_runs.select_related(*related).get(pk=task_run_id)
        except TaskRun.DoesNotExist:
            raise Http404("no such task in this run") from None

    def live_view(self, request, run_id):
        """The run's changing parts as JSON: the page fetches it every 1.5 s until the run ends.

        With the marker of its last answer (``since``) and the key of the
        page it shows (``page``), only the rows changed since (run_live);
        otherwise the whole page.
        """
        flow_run = self.get_run(request, run_id)
        task_page = select_tasks(flow_run, request.GET)
        marker = run_live.parse_marker(request.GET.get("since"))
        if marker is None or marker.revision > flow_run.revision or request.GET.get("page") != task_page.key:
            return self.live_page(request, flow_run, task_page)
        return self.live_changes(request, flow_run, task_page, marker)

    def live_page(self, request, flow_run, task_page):
        """The whole page: summary, task table and chart."""
        context = self.page_context(request, flow_run, task_page)
        fragments = {name: self.render_part(request, name, context) for name in ("summary", "tasks", "chart")}
        return self.live_answer(
            flow_run, task_page, context["rows"], context["rows"], fragments, context["since"]
        )

    def live_changes(self, request, flow_run, task_page, marker):
        """The summary, the chart, and the rows of the page changed after ``marker`` (at most DELTA_ROWS)."""
        lines = run_live.page_lines(flow_run, task_page.names)
        changed, since, more = run_live.changed_since(flow_run, lines, marker)
        context = self.run_context(request, flow_run, task_page, lines)
        fragments = {name: self.render_part(request, name, context) for name in ("summary", "chart")}
        rows = []
        if changed:
            # Whole rows (outputs, errors) of the changed task runs only, in page order.
            names = {task_run.task_name for task_run in changed}
            rows = run_page.task_rows(  # with their artifacts (one join)
                flow_run,
                [name for name in task_page.names if name in names],
                task_runs=flow_run.task_runs.filter(pk__in=[task_run.pk for task_run in changed]),
            )
            fragments["rows"] = self.render_part(request, "tasks", {**context, "rows": rows})
        return self.live_answer(
            flow_run, task_page, rows, lines, fragments, str(since), full=False, more=more
        )

    def render_part(self, request, name, context):
        return render_to_string(f"admin/flowforge_admin/flowrun/_{name}.html", context, request=request)

    def live_answer(self, flow_run, task_page, rows, lines, fragments, since, full=True, more=False):
        """The live view's JSON: ``rows`` sent, durations of the running ones among ``lines``."""
        return JsonResponse(
            {
                "id": flow_run.pk,
                "status": flow_run.status,
                "finished": flow_run.is_finished,
                "counts": flow_run.task_counts(),
                "full": full,  # html.tasks is the whole table; else html.rows holds the changed rows
                "since": since,  # the marker to send back
                "more": more,  # more changed rows wait: ask again now
                "page": task_page.key,  # send back too: a page whose rows changed comes whole
                "tasks": run_page.task_statuses(rows),
                "durations": run_page.running_durations(lines),
                "html": fragments,
            }
        )

    def output_view(self, request, run_id, task_run_id):
        """A task run's whole output (or ``?attempt=N``'s), as JSON (the pages show only its beginning)."""
        task_run = self.get_task_run(self.get_run(request, run_id), task_run_id)
        owner = attempt_outcome.output_owner(task_run, request.GET.get("attempt"))
        return JsonResponse(owner.output, safe=False, json_dumps_params={"indent": 2})

    @method_require_get
    def artifact_view(self, request, run_id, task_run_id):
        """The task run's artifact file, as an attachment; the download is audited (output_views)."""
        return output_views.artifact_view(self, request, run_id, task_run_id)

    def output_preview_view(self, request, run_id, task_run_id):
        """The output's type, size and compact preview, for the graph's panel (output_views)."""
        return output_views.preview_view(self, request, run_id, task_run_id)

    def change_state(self, request, flow_run, action):
        """Execute ``action``; report its refusal, or its record, as a message."""
        try:
            result = action.execute()
        except (PermissionDenied, InvalidTransition, ValidationError) as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(request, action.message(result))
        return self.back_to(flow_run)

    def back_to(self, flow_run):
        return HttpResponseRedirect(reverse("admin:flowforge_admin_flowrun_change", args=[flow_run.pk]))

    @method_require_post
    def cancel_view(self, request, run_id):
        flow_run = self.get_run(request, run_id, CONTROL_PERMISSION)
        return self.change_state(request, flow_run, CancelRunAction(flow_run, user=request.user))

    @method_require_post
    def rerun_view(self, request, run_id):
        flow_run = self.get_run(request, run_id, CONTROL_PERMISSION)
        return self.change_state(request, flow_run, RerunFailedAction(flow_run, user=request.user))

    @method_require_post
    def retry_view(self, request, run_id, task_run_id):
        flow_run = self.get_run(request, run_id, CONTROL_PERMISSION)
        task_run = self.get_task_run(flow_run, task_run_id)
        return self.change_state(request, flow_run, RetryTaskAction(task_run, user=request.user))

    @method_require_post
    def mark_view(self, request, run_id, task_run_id):
        flow_run = self.get_run(request, run_id, CONTROL_PERMISSION)
        task_run = self.get_task_run(flow_run, task_run_id)
        status = request.POST.get("status", "")
        reason = request.POST.get("reason", "").strip()
        if status not in (TaskState.SUCCEEDED, TaskState.FAILED):
            messages.error(request, _("Choose whether to mark the task succeeded or failed."))
            return self.back_to(flow_run)
        return self.change_state(
            request, flow_run, MarkTaskAction(task_run, status, reason, user=request.user)
        )

    @method_require_post
    def clear_view(self, request, run_id, task_run_id):
        return run_again_views.clear_view(self, request, run_id, task_run_id)

    @method_require_post
    def relaunch_view(self, request, run_id):
        """Launch the same flow again with the same parameters (run_again_views)."""
        return run_again_views.relaunch_view(self, request, run_id)
