from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import FlowRun, TaskRun


class TaskRunInline(admin.TabularInline):
    model = TaskRun
    fields = ["task_name", "status", "attempt", "max_attempts", "started_at", "finished_at", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FlowRun)
class FlowRunAdmin(admin.ModelAdmin):
    """Run records are written by the engine only: this admin reads them."""

    list_display = ["__str__", "status", "triggered_by", "created_at", "finished_at", "tasks_done"]
    list_filter = ["status", "triggered_by", "flow"]
    search_fields = ["flow_name", "=id"]
    date_hierarchy = "created_at"
    inlines = [TaskRunInline]
    fieldsets = [
        (None, {"fields": ["flow", "flow_version", "status", "params", "triggered_by", "triggered_by_user"]}),
        (_("Times"), {"fields": ["created_at", "started_at", "finished_at"]}),
        (_("Tasks"), {"fields": ["task_summary"]}),
    ]
    readonly_fields = [
        "flow",
        "flow_version",
        "status",
        "params",
        "triggered_by",
        "triggered_by_user",
        "created_at",
        "started_at",
        "finished_at",
        "task_summary",
    ]
    view_on_site = False

    @admin.display(description=_("task runs by status"))
    def task_summary(self, run):
        return ", ".join(f"{count} {status}" for status, count in run.task_counts().items() if count) or "—"

    @admin.display(description=_("tasks succeeded / failed"))
    def tasks_done(self, run):
        return f"{run.succeeded_count} / {run.failed_count + run.upstream_failed_count}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
