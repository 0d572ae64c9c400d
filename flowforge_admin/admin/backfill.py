"""A schedule's Backfill page: preview the runs of a span of its fires, then create them.

The same two steps as ``manage.py backfill`` (``--dry-run``, then the real
thing), through the same plan and action
(:mod:`flowforge_admin.actions.backfill`). The page needs ``launch_flow``,
as every launch does; it only changes anything on a POST (with its CSRF
token) that confirms a preview.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..actions.backfill import BackfillAction, plan_backfill
from ..actions.runs import LAUNCH_PERMISSION
from ..exceptions import InvalidTransition, refusal_message
from ..forms.backfill import BackfillForm
from ..models import FlowSchedule

CONFIRM = "_confirm"


class BackfillMixin:
    """Adds ``<id>/backfill/`` to a FlowSchedule admin."""

    backfill_template = "admin/flowforge_admin/flowschedule/backfill.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.backfill_view)
        route = path("<int:schedule_id>/backfill/", view, name="flowforge_admin_flowschedule_backfill")
        return [route, *super().get_urls()]

    def has_backfill_permission(self, request, schedule):
        """Return whether the user may backfill ``schedule``: see it and launch runs."""
        return self.has_view_permission(request, schedule) and request.user.has_perm(LAUNCH_PERMISSION)

    def backfill_view(self, request, schedule_id):
        """GET: the empty form. POST: the preview, or (confirmed) the runs, then the schedule's page."""
        schedule = get_object_or_404(
            FlowSchedule.objects.select_related("flow", "q_schedule"), pk=schedule_id
        )
        if not self.has_backfill_permission(request, schedule):
            raise PermissionDenied
        form = BackfillForm(data=request.POST if request.method == "POST" else None)
        plan = None
        if request.method == "POST" and form.is_valid():
            span = (form.cleaned_data["start"], form.cleaned_data["end"])
            rerun = form.cleaned_data["rerun_existing"]
            try:
                if CONFIRM in request.POST:
                    return self.backfill(request, schedule, span, rerun)
                plan = plan_backfill(schedule, *span, rerun_existing=rerun)
            except (ValidationError, InvalidTransition, PermissionDenied) as error:
                form.add_error(None, refusal_message(error))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Backfill %(schedule)s") % {"schedule": schedule},
            "opts": self.opts,
            "original": schedule,
            "form": form,
            "plan": plan,
            "confirm": CONFIRM,
            "media": self.media + form.media,
            "has_view_permission": True,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.backfill_template, context)

    def backfill(self, request, schedule, span, rerun):
        """Create the runs (all or none); say so on the schedule's page."""
        action = BackfillAction(
            schedule, *span, rerun_existing=rerun, user=request.user, how="from the admin"
        )
        runs = action.execute()
        if runs:
            runs_url = reverse("admin:flowforge_admin_flowrun_changelist")
            self.message_user(
                request,
                format_html(
                    _('Backfill: created {} run(s), #{} to #{} (<a href="{}">runs</a>).'),
                    len(runs),
                    runs[0].pk,
                    runs[-1].pk,
                    f"{runs_url}?triggered_by__exact=backfill",
                ),
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, action.plan.describe().replace("Will create", "Created"), messages.INFO
            )
        return HttpResponseRedirect(reverse("admin:flowforge_admin_flowschedule_change", args=[schedule.pk]))
