"""The "Waiting for me" list: the approval steps the user may decide, oldest wait first.

A read-only list of the proxy model :class:`~flowforge_admin.models.Approval`
whose rows are :func:`~flowforge_admin.actions.approvals.waiting_for` the
user (one indexed query, with its count shown on the admin index too). Any
staff user sees it (it lists only what he may decide); each row links to
the step's decision page and its run.
"""

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..actions.approvals import waiting_for
from ..models import Approval
from ..templatetags.flowforge import breakable, local_datetime
from . import approval_views


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    list_display = ["task_title", "run_title", "approvers", "waiting_since", "deadline", "decide"]
    list_display_links = None
    list_select_related = ["run"]
    search_fields = ["task_name", "run__flow_name"]
    ordering = ["wait_started_at", "id"]
    show_full_result_count = False

    class Media:
        css = {"all": ["flowforge_admin/css/admin.css"]}

    def get_urls(self):
        decide = path(
            "<int:task_run_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="flowforge_admin_approval_decide",
        )
        return [decide, *super().get_urls()]

    def decide_view(self, request, task_run_id):
        """Approve or reject a waiting approval step (approval_views)."""
        return approval_views.approval_view(self, request, task_run_id)

    def get_queryset(self, request):
        return waiting_for(request.user).select_related("run")

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        # Everyone's own list: its query holds only the steps the user may decide.
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": _("Approval steps waiting for your decision"), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("task"), ordering="task_name")
    def task_title(self, task_run):
        return breakable(task_run.task_name)

    @admin.display(description=_("run"), ordering="run_id")
    def run_title(self, task_run):
        url = reverse("admin:flowforge_admin_flowrun_change", args=[task_run.run_id])
        return format_html('<a href="{}">{} #{}</a>', url, breakable(task_run.run.flow_name), task_run.run_id)

    @admin.display(description=_("approvers"), ordering="approval_group")
    def approvers(self, task_run):
        return task_run.approval_group or _("those with the approve permission")

    @admin.display(description=_("waiting since"), ordering="wait_started_at")
    def waiting_since(self, task_run):
        return local_datetime(task_run.wait_started_at, "Y-m-d H:i:s") if task_run.wait_started_at else "—"

    @admin.display(description=_("decide by"), ordering="next_attempt_at")
    def deadline(self, task_run):
        return local_datetime(task_run.next_attempt_at, "Y-m-d H:i") if task_run.next_attempt_at else "—"

    @admin.display(description=_("decision"))
    def decide(self, task_run):
        url = reverse("admin:flowforge_admin_approval_decide", args=[task_run.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Approve or reject…"))
