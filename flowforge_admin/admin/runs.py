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

    list_display = [
        "id",
        "flow_name",
        "status",
        "triggered_by",
        "created_at",
        "started_at",
        "finished_at",
        "tasks_done",
    ]
    list_filter = ["status", "triggered_by", "flow"]
    list_select_related = ["triggered_by_user"]
    search_fields = ["flow_name", "=id"]
    date_hierarchy = "created_at"
    inlines = [TaskRunInline]
    exclude = ["snapshot"]
    view_on_site = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if field.name != "snapshot"]

    @admin.display(description=_("tasks succeeded / failed"))
    def tasks_done(self, run):
        return f"{run.succeeded_count} / {run.failed_count + run.upstream_failed_count}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
