from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_q.models import Schedule

from ..actions.runs import LaunchFlowAction
from ..definitions import store
from ..exceptions import InvalidTransition
from ..forms.flows import FlowForm
from ..forms.launch import LaunchForm
from ..models import Flow, FlowRun, Task
from ..templatetags.flowforge import breakable, local_datetime, status_badge
from .alerts import FlowAlertInline
from .flow_metrics import flow_metrics_chart
from .graph import graph_urls
from .grid import GRID_RUNS, build_run_grid
from .imports import FlowImportExportMixin
from .schedules import flow_schedules
from .stored_json import StoredJSONDisplayMixin


@admin.register(Flow)
class FlowAdmin(StoredJSONDisplayMixin, FlowImportExportMixin, admin.ModelAdmin):
    form = FlowForm
    stored_json_fields = ("params", "params_schema")
    list_display = [
        "title",
        "task_count",
        "last_run",
        "next_run",
        "origin",
        "version",
        "last_change",
    ]
    list_display_links = ["title"]
    list_filter = ["is_paused", "origin", "updated_at"]
    search_fields = ["name", "display_name", "description"]
    readonly_fields = ["origin", "version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "display_name", "description", "is_paused", "max_active_runs"]}),
        (_("Parameters"), {"fields": ["params", "params_schema"], "classes": ["collapse"]}),
        (
            _("History"),
            {"fields": ["origin", "version", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]
    view_on_site = False
    inlines = [FlowAlertInline]
    actions = ["launch_selected"]
    launch_template = "admin/flowforge_admin/flow/launch.html"
    launch_selected_template = "admin/flowforge_admin/flow/launch_selected.html"

    class Media:
        css = {
            "all": [
                "flowforge_admin/css/admin.css",
                "flowforge_admin/css/flows.css",
                "flowforge_admin/css/metrics.css",
            ]
        }

    def get_queryset(self, request):
        # The newest run's id, status and time in the same query as the
        # flows: three correlated lookups on the (flow, -created_at) index.
        newest = FlowRun.objects.filter(flow=OuterRef("pk")).order_by("-created_at", "-id")
        # The soonest fire of the flow's schedules that are not paused.
        soonest = (
            Schedule.objects.filter(flow_schedule__flow=OuterRef("pk"), flow_schedule__is_paused=False)
            .exclude(repeats=0)
            .order_by("next_run")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                task_count=Count("tasks"),
                last_run_id=Subquery(newest.values("pk")[:1]),
                last_run_status=Subquery(newest.values("status")[:1]),
                last_run_at=Subquery(newest.values("created_at")[:1]),
                next_run_at=Subquery(soonest.values("next_run")[:1]),
            )
        )

    def get_urls(self):
        # Ahead of the default URLs, whose "<path:object_id>/" would take them.
        return [
            path(
                "<path:object_id>/launch/",
                self.admin_site.admin_view(self.launch_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_launch",
            ),
            *graph_urls(self),
            *super().get_urls(),
        ]

    def has_launch_permission(self, request, obj=None):
        """Return True if the user may launch runs (of ``obj``, or of any flow)."""
        return request.user.has_perm(f"{self.opts.app_label}.launch_flow")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "description":
            field.widget.attrs["rows"] = 3
        return field

    @admin.display(description=_("flow"), ordering="name")
    def title(self, flow):
        """The display name, the machine name under it when they differ, and a tag on a paused flow.

        The tag stands for a column of its own (active / paused), which the
        list has no room for at 1 280 px; the "By paused" filter still sorts them out.
        """
        paused = (
            format_html(' <span class="ff-tag ff-paused-tag">{}</span>', _("paused"))
            if flow.is_paused
            else ""
        )
        if not flow.display_name or flow.display_name == flow.name:
            return format_html("{}{}", breakable(flow.name), paused)
        return format_html(
            '{}{}<br><span class="ff-muted ff-small">{}</span>',
            flow.display_name,
            paused,
            breakable(flow.name),
        )

    @admin.display(description=_("last change"), ordering="updated_at")
    def last_change(self, flow):
        return local_datetime(flow.updated_at)

    @admin.display(description=_("state"), ordering="is_paused")
    def state(self, flow):
        return _("paused") if flow.is_paused else _("active")

    @admin.display(description=_("tasks"), ordering="task_count")
    def task_count(self, flow):
        return flow.task_count

    @admin.display(description=_("last run"), ordering="last_run_at")
    def last_run(self, flow):
        """The newest run's status badge, linked to its page, and when it was launched."""
        if flow.last_run_id is None:
            return "—"
        when = localtime(flow.last_run_at)
        return format_html(
            '<a href="{}" class="ff-last-run">{}</a> <time datetime="{}" class="ff-muted">{}</time>',
            reverse("admin:flowforge_admin_flowrun_change", args=[flow.last_run_id]),
            status_badge(flow.last_run_status),
            when.isoformat(),
            local_datetime(when),
        )

    @admin.display(description=_("next run"), ordering="next_run_at")
    def next_run(self, flow):
        """When the flow's schedules fire next (nothing while the flow is paused)."""
        if flow.is_paused or flow.next_run_at is None:
            return "—"
        return local_datetime(flow.next_run_at)

    def get_task_tree(self, flow):
        """Return the flow's tasks in tree order with their dependencies (two queries)."""
        return flow.tasks.order_by("tree_id", "lft").prefetch_related(
            Prefetch("depends_on", queryset=Task.objects.only("id", "name").order_by("name"))
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The flow is already loaded here: no second query for it.
        if obj is not None:
            # Read once, for the tree and the grid's rows.
            tasks = list(self.get_task_tree(obj))
            context["task_tree"] = tasks
            context["can_add_task"] = request.user.has_perm("flowforge_admin.add_task")
            context["can_change_task"] = request.user.has_perm("flowforge_admin.change_task")
            context["schedules"] = flow_schedules(obj)
            context["can_add_schedule"] = request.user.has_perm("flowforge_admin.add_flowschedule")
            context["can_launch"] = self.has_launch_permission(request, obj)
            context["run_grid"] = build_run_grid(obj, tasks)
            context["grid_runs"] = GRID_RUNS
            context["metrics_chart"] = flow_metrics_chart(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.origin = Flow.Origin.ADMIN
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Default parameters are part of the definition version, which the
        # store raises at commit; sync it now so that the rest of this
        # transaction reads it (see TaskAdmin.save_related).
        store.sync_pending_versions()

    # Launching runs ---------------------------------------------------------------

    def launch_view(self, request, object_id):
        """Show the launch form of one flow (GET); launch a run and go to its page (POST)."""
        if not self.has_launch_permission(request):
            raise PermissionDenied
        flow = self.get_object(request, unquote(object_id))
        if flow is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        form = LaunchForm(flow, data=request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            runs = self.launch_runs(request, [form])
            if runs:
                messages.success(request, self.launched_message(runs))
                return HttpResponseRedirect(runs[0].get_absolute_url())
        context = {
            **self.admin_site.each_context(request),
            "title": _("Run %(flow)s") % {"flow": flow},
            "opts": self.opts,
            "flow": flow,
            "form": form,
            "media": self.media + form.media,
            "has_view_permission": self.has_view_permission(request, flow),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.launch_template, context)

    @admin.action(permissions=["launch"], description=_("Run selected flows"))
    def launch_selected(self, request, queryset):
        """Ask for each selected flow's parameters, then launch them all, or none."""
        confirmed = request.POST.get("post") == "yes"
        forms = [
            LaunchForm(flow, data=request.POST if confirmed else None, prefix=f"flow-{flow.pk}")
            for flow in queryset
        ]
        # Check every form, not up to the first bad one, so that each shows its errors.
        valid = [form.is_valid() for form in forms]
        if confirmed and all(valid):
            runs = self.launch_runs(request, forms)
            if runs:
                messages.success(request, self.launched_message(runs))
                if len(runs) == 1:
                    return HttpResponseRedirect(runs[0].get_absolute_url())
                return HttpResponseRedirect(reverse("admin:flowforge_admin_flowrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Run selected flows"),
            "opts": self.opts,
            "forms": forms,
            # A paused flow makes the whole set impossible: say so before anyone confirms.
            "blocked": any(form.blocked_reason for form in forms),
            "errors": any(form.errors for form in forms),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.launch_selected_template, context)

    def launch_runs(self, request, forms):
        """Launch one run per valid form, all in one transaction; return the runs.

        Each launch is logged on the flow and on the new run, so both history
        pages say who launched what. If launch refuses one of them (the flow
        was paused or changed since the form was checked), nothing is
        launched: the error goes on that form and the result is empty.
        """
        runs, form = [], None
        try:
            with transaction.atomic():
                for form in forms:  # on failure, ``form`` is the one launch refused
                    action = LaunchFlowAction(
                        form.flow,
                        form.params(),
                        user=request.user,
                        how="Launched from the admin",
                        logical_date=form.logical_date(),
                    )
                    runs.append(action.execute())
        except PermissionDenied as error:
            form.add_error(None, str(error))
            return []
        except (ValidationError, InvalidTransition) as error:
            form.add_launch_error(error)
            return []
        return runs

    def launched_message(self, runs):
        """Return the success message, with a link to each new run."""
        links = format_html_join(
            ", ", '<a href="{}">{}</a>', ((run.get_absolute_url(), str(run)) for run in runs)
        )
        text = ngettext("Launched run {runs}.", "Launched {count} runs: {runs}.", len(runs))
        return format_html(text, runs=links, count=len(runs))
