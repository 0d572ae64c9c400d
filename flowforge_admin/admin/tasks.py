import dataclasses
from urllib.parse import urlencode

from django import http
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.db import transaction
from django.db.models import Prefetch
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from mptt.admin import DraggableMPTTAdmin

from ..definitions import rules, store
from ..forms.flows import TaskForm
from ..models import Task
from ..templatetags.flowforge import breakable
from .query_params import ids_in_range
from .stored_json import StoredJSONDisplayMixin


class SameFlowAutocomplete(AutocompleteSelectMultiple):
    """Django's autocomplete, asking only for tasks of one flow that the edited task may depend on.

    TaskForm sets ``flow_id`` and, on a change page, ``task_id``.
    """

    flow_id = None
    task_id = None

    def get_url(self):
        url = super().get_url()
        query = {"flow": self.flow_id, "task": self.task_id}
        query = urlencode({key: value for key, value in query.items() if value is not None})
        return f"{url}?{query}" if query else url


@admin.register(Task)
class TaskAdmin(StoredJSONDisplayMixin, DraggableMPTTAdmin):
    form = TaskForm
    stored_json_fields = ("params",)
    list_display = [
        "tree_actions",
        "indented_title",
        "flow_name",
        "function_name",
        "dependency_names",
        "retries",
    ]
    list_display_links = ["indented_title"]
    list_filter = ["flow"]
    list_select_related = ["flow"]
    search_fields = ["name", "verbose_name", "function", "flow__name"]
    autocomplete_fields = ["depends_on"]
    mptt_level_indent = 24
    expand_tree_by_default = True
    view_on_site = False
    # Import / Export buttons leading to the flow import and export (tasks travel with their flow).
    change_list_template = "admin/flowforge_admin/import_export/task_change_list.html"

    class Media:
        css = {"all": ["flowforge_admin/css/admin.css"]}

    def get_list_display(self, request):
        """The list's columns; without the change permission, no drag handle (a move would be refused)."""
        columns = list(super().get_list_display(request))
        if not self.has_change_permission(request):
            columns = ["tree_toggle" if column == "tree_actions" else column for column in columns]
        return columns

    @admin.display(description="")
    def tree_toggle(self, task):
        """django-mptt's tree_actions without the drag handle: expanding and collapsing still work."""
        return format_html('<div class="tree-node" data-pk="{}" data-level="{}"></div>', task.pk, task.level)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("depends_on", queryset=Task.objects.only("id", "name").order_by("name"))
            )
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "depends_on":
            kwargs["widget"] = SameFlowAutocomplete(db_field, self.admin_site)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        """Autocomplete asks with ?flow=<id>: answer with that flow's tasks only.

        With ?task=<id> too, leave out the tasks it cannot depend on (saving
        would refuse them as a cycle): itself, the groups it is in and the
        tasks nested in it.
        """
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("field_name") != "depends_on":
            return queryset, may_have_duplicates
        flow_id = request.GET.get("flow")
        if flow_id:
            queryset = queryset.filter(flow_id__in=ids_in_range(Task, "flow", [flow_id]))
        task = Task.objects.filter(pk__in=ids_in_range(Task, "pk", [request.GET.get("task", "")])).first()
        if task is not None:
            queryset = queryset.exclude(pk__in=task.get_ancestors(include_self=True).values("pk")).exclude(
                pk__in=task.get_descendants().values("pk")
            )
        return queryset, may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        # A task stays in its flow: moving it would break both flows' dependencies.
        fields = ["docstring", "source"]
        return ["flow", *fields] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["flow", "parent", "name", "verbose_name", "function"]}),
            (_("Dependencies"), {"fields": ["depends_on"]}),
            (
                _("Execution"),
                {
                    "fields": [
                        "params",
                        "retries",
                        "retry_delay",
                        "timeout",
                        "pool",
                        "pool_slots",
                        "queue",
                        "sensor",
                        "map_over",
                        "map_param",
                        "approval",
                    ]
                },
            ),
        ]
        if obj is not None:
            fieldsets.append((_("Function"), {"fields": ["docstring", "source"], "classes": ["collapse"]}))
        return self.with_stored_json_shown(request, obj, fieldsets)

    @admin.display(description=_("flow"), ordering="flow__name")
    def flow_name(self, task):
        return breakable(task.flow.name)

    @admin.display(description=_("function"), ordering="function")
    def function_name(self, task):
        """The function's own name; the full dotted path shows on hover."""
        if not task.function:
            return "—"
        return format_html('<code title="{}">{}</code>', task.function, task.function.rpartition(".")[2])

    @admin.display(description=_("depends on"))
    def dependency_names(self, task):
        return ", ".join(dep.name for dep in task.depends_on.all()) or "—"

    # The store raises a flow's version when the edit's transaction commits
    # (definitions/receivers.py). Each hook below syncs it now instead, so
    # that the rest of the request's transaction, and a caller's enclosing
    # one (a test's never commits), read the new version; the sync at commit
    # then has nothing left to do.

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        store.sync_pending_versions()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        store.sync_pending_versions()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        store.sync_pending_versions()

    def delete_selected_tree(self, modeladmin, request, queryset):
        # django-mptt replaces the "delete selected" action with this one,
        # which deletes node by node and never calls delete_queryset.
        response = super().delete_selected_tree(modeladmin, request, queryset)
        store.sync_pending_versions()
        return response

    def get_move_error(self, task, target, position):
        """Return why moving ``task`` next to or into ``target`` breaks a rule, or None.

        Override to add rules; the message is shown to the user as is.
        """
        if target.flow_id != task.flow_id:
            return _("Task %(task)s cannot move into flow %(flow)s: a task stays in its flow.") % {
                "task": task.name,
                "flow": target.flow.name,
            }
        parent = target if position == "last-child" else target.parent
        if parent is not None and parent.is_descendant_of(task, include_self=True):
            return None  # django-mptt refuses this move itself, with its own message.
        before = store.read_flow_spec(task.flow)
        current = next(spec for spec in before.tasks if spec.name == task.name)
        moved = dataclasses.replace(current, parent=parent.name if parent else None)
        after = before.replace_task(task.name, moved)

        def allow_all(path):
            return None  # functions do not change in a move

        known = set(rules.validate_flow(before, allow_all))
        problems = [p for p in rules.validate_flow(after, allow_all) if p not in known]
        return str(problems[0]) if problems else None

    @transaction.atomic
    def _move_node(self, request):
        queryset = self.get_queryset(request).select_related("flow")
        try:
            task = queryset.get(pk=request.POST.get("cut_item"))
            target = queryset.get(pk=request.POST.get("pasted_on"))
        except (Task.DoesNotExist, TypeError, ValueError):
            return super()._move_node(request)  # django-mptt answers this case
        position = request.POST.get("position")
        if position in ("last-child", "left", "right") and self.has_change_permission(request, task):
            error = self.get_move_error(task, target, position)
            if error:
                self.message_user(request, error, level=messages.ERROR)
                return http.HttpResponse("FAIL, invalid move.")
        response = super()._move_node(request)
        store.sync_pending_versions()
        return response
