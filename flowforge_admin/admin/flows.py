from django.contrib import admin
from django.db.models import Count, Prefetch
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from .. import storage
from ..forms import FlowForm
from ..models import Flow, Task


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    form = FlowForm
    list_display = ["title", "task_count", "state", "origin", "version", "last_change"]
    list_display_links = ["title"]
    list_filter = ["is_paused", "origin", "updated_at"]
    search_fields = ["name", "display_name", "description"]
    readonly_fields = ["origin", "version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "display_name", "description", "is_paused"]}),
        (_("Parameters"), {"fields": ["params", "params_schema"], "classes": ["collapse"]}),
        (
            _("History"),
            {"fields": ["origin", "version", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]
    view_on_site = False

    class Media:
        css = {"all": ["flowforge_admin/css/admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(task_count=Count("tasks"))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "description":
            field.widget.attrs["rows"] = 3
        return field

    @admin.display(description=_("flow"), ordering="name")
    def title(self, flow):
        """The display name, with the machine name under it when they differ."""
        if not flow.display_name or flow.display_name == flow.name:
            return flow.name
        return format_html('{}<br><span class="ff-muted ff-small">{}</span>', flow.display_name, flow.name)

    @admin.display(description=_("last change"), ordering="updated_at")
    def last_change(self, flow):
        return date_format(localtime(flow.updated_at), "Y-m-d H:i")

    @admin.display(description=_("state"), ordering="is_paused")
    def state(self, flow):
        return _("paused") if flow.is_paused else _("active")

    @admin.display(description=_("tasks"), ordering="task_count")
    def task_count(self, flow):
        return flow.task_count

    def get_task_tree(self, flow):
        """Return the flow's tasks in tree order with their dependencies (two queries)."""
        return flow.tasks.order_by("tree_id", "lft").prefetch_related(
            Prefetch("depends_on", queryset=Task.objects.only("id", "name").order_by("name"))
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The flow is already loaded here: no second query for it.
        if obj is not None:
            context["task_tree"] = self.get_task_tree(obj)
            context["can_add_task"] = request.user.has_perm("flowforge_admin.add_task")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.origin = Flow.Origin.ADMIN
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Default parameters are part of the definition version.
        storage.sync_version(form.instance)
