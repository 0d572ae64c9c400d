"""Flow schedules in the admin: Editors define them, Operators pause, resume and run them now."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ..actions.runs import LAUNCH_PERMISSION
from ..actions.schedules import PAUSE_PERMISSION, LaunchScheduleNowAction, PauseScheduleAction
from ..exceptions import InvalidTransition, refusal_message
from ..forms.schedules import FlowScheduleForm, describe
from ..models import FlowSchedule
from ..templatetags.flowforge import local_datetime, status_badge
from .backfill import BackfillMixin
from .runs import method_require_post


def when(moment):
    return format_html("{} UTC", local_datetime(moment)) if moment else "—"


@admin.register(FlowSchedule)
class FlowScheduleAdmin(BackfillMixin, admin.ModelAdmin):
    form = FlowScheduleForm
    # flow_title, not the "flow" key: Django keeps a key's column on one line, too wide at 1 280 px.
    list_display = ["name", "flow_title", "description", "next_fire", "last_fire", "state", "skipped_count"]
    list_filter = ["is_paused", "kind", "flow"]
    list_select_related = ["flow", "q_schedule", "last_run"]
    search_fields = ["name", "flow__name"]
    actions = ["pause_selected", "resume_selected", "run_selected_now"]
    readonly_fields = ["description", "upcoming", "last_fire", "skipped_count"]
    fieldsets = [
        (None, {"fields": ["flow", "name", "is_paused"]}),
        (
            _("When"),
            {
                "fields": ["kind", "cron", "every_minutes", "at_time", "weekday", "day_of_month", "run_at"],
                "description": _("Times are UTC. Only the fields of the chosen kind count."),
            },
        ),
        (_("Runs"), {"fields": ["params", "overlap", "catchup"]}),
        (_("Fires"), {"fields": ["description", "upcoming", "last_fire", "skipped_count"]}),
    ]
    change_form_template = "admin/flowforge_admin/flowschedule/change_form.html"
    view_on_site = False

    class Media:
        css = {"all": ["flowforge_admin/css/admin.css", "flowforge_admin/css/runs.css"]}
        js = ["flowforge_admin/js/schedule_form.js"]

    def get_readonly_fields(self, request, obj=None):
        # A schedule stays with its flow.
        return ["flow", *self.readonly_fields] if obj is not None else self.readonly_fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        flow_id = request.GET.get("flow")
        if flow_id and flow_id.isdigit():
            initial["flow"] = flow_id
        return initial

    @admin.display(description=_("flow"), ordering="flow__name")
    def flow_title(self, schedule):
        return str(schedule.flow)

    @admin.display(description=_("when"))
    def description(self, schedule):
        return describe(schedule)

    @admin.display(description=_("next fire"), ordering="q_schedule__next_run")
    def next_fire(self, schedule):
        if not schedule.is_active or schedule.q_schedule is None or schedule.q_schedule.repeats == 0:
            return "—"
        return when(schedule.q_schedule.next_run)

    @admin.display(description=_("next 5 fire times"))
    def upcoming(self, schedule):
        if schedule.pk is None:
            return "—"
        if not schedule.is_active:
            return _("none while paused")
        try:
            # After a refused change the page shows the refused values: say nothing of them.
            schedule.clean()
        except ValidationError:
            return "—"
        times = schedule.next_fire_times(5)
        if not times:
            return _("none (it has fired)")
        return format_html(
            "<ol class='ff-fire-times'>{}</ol>",
            format_html_join("", "<li>{}</li>", ((when(t),) for t in times)),
        )

    @admin.display(description=_("last fire"), ordering="last_fired_at")
    def last_fire(self, schedule):
        if schedule.last_fired_at is None:
            return _("never")
        if schedule.last_run_id is not None and schedule.last_outcome == FlowSchedule.Outcome.LAUNCHED:
            url = reverse("admin:flowforge_admin_flowrun_change", args=[schedule.last_run_id])
            # A late fire says more (runs caught up, missed fires skipped): show it beside the run.
            more = (
                schedule.last_message
                if schedule.last_message != f"launched run #{schedule.last_run_id}"
                else ""
            )
            return format_html(
                '{} <a href="{}">#{}</a> {}{}',
                when(schedule.last_fired_at),
                url,
                schedule.last_run_id,
                status_badge(schedule.last_run.status),
                format_html(' <span class="ff-muted">{}</span>', more) if more else "",
            )
        return format_html(
            '{} <span class="ff-muted">{}</span>', when(schedule.last_fired_at), schedule.last_message
        )

    @admin.display(description=_("state"), ordering="is_paused")
    def state(self, schedule):
        if schedule.is_paused:
            return _("paused")
        if schedule.flow.is_paused:
            return _("paused with its flow")
        return _("active")

    # Pause, resume, run now -------------------------------------------------

    def has_pause_permission(self, request):
        return request.user.has_perm(PAUSE_PERMISSION)

    def has_launch_permission(self, request):
        return request.user.has_perm(LAUNCH_PERMISSION)

    def set_paused(self, request, schedules, paused, done_message):
        """Pause (or resume) every one of ``schedules``, or none (one transaction); say which."""
        try:
            with transaction.atomic():
                for schedule in schedules:
                    PauseScheduleAction(schedule, paused=paused, user=request.user).execute()
        except PermissionDenied as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(request, done_message, messages.SUCCESS)

    @admin.action(description=_("Pause selected schedules"), permissions=["pause"])
    def pause_selected(self, request, queryset):
        schedules = queryset.select_related("flow", "q_schedule")
        self.set_paused(request, schedules, True, _("Paused the selected schedules."))

    @admin.action(description=_("Resume selected schedules"), permissions=["pause"])
    def resume_selected(self, request, queryset):
        schedules = queryset.select_related("flow", "q_schedule")
        self.set_paused(request, schedules, False, _("Resumed the selected schedules."))

    @admin.action(description=_("Run selected schedules now"), permissions=["launch"])
    def run_selected_now(self, request, queryset):
        for schedule in queryset.select_related("flow"):
            self.run_now(request, schedule)

    def run_now(self, request, schedule):
        try:
            run = LaunchScheduleNowAction(schedule, user=request.user).execute()
        except (PermissionDenied, InvalidTransition, ValidationError) as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
            return None
        if run is None:
            schedule.refresh_from_db(fields=["last_message"])
            # The admin capitalises a message's first letter: begin with words, not the flow's machine name.
            self.message_user(
                request,
                _("Schedule %(schedule)s: %(message)s")
                % {"schedule": schedule, "message": schedule.last_message},
                messages.ERROR,
            )
            return None
        self.message_user(
            request,
            format_html(
                _('Schedule {}: launched run <a href="{}">#{}</a>.'), schedule, run.get_absolute_url(), run.pk
            ),
            messages.SUCCESS,
        )
        return run

    def get_urls(self):
        routes = [
            ("<int:schedule_id>/pause/", self.pause_view, "pause"),
            ("<int:schedule_id>/resume/", self.resume_view, "resume"),
            ("<int:schedule_id>/run-now/", self.run_now_view, "run_now"),
        ]
        custom = [
            path(route, self.admin_site.admin_view(view), name=f"flowforge_admin_flowschedule_{name}")
            for route, view, name in routes
        ]
        return custom + super().get_urls()

    def get_schedule(self, request, schedule_id, allowed):
        schedule = get_object_or_404(
            FlowSchedule.objects.select_related("flow", "q_schedule"), pk=schedule_id
        )
        if not self.has_view_permission(request, schedule) or not allowed(request):
            raise PermissionDenied
        return schedule

    def back_to(self, schedule):
        return HttpResponseRedirect(reverse("admin:flowforge_admin_flowschedule_change", args=[schedule.pk]))

    @method_require_post
    def pause_view(self, request, schedule_id):
        schedule = self.get_schedule(request, schedule_id, self.has_pause_permission)
        self.set_paused(request, [schedule], True, _("Paused."))
        return self.back_to(schedule)

    @method_require_post
    def resume_view(self, request, schedule_id):
        schedule = self.get_schedule(request, schedule_id, self.has_pause_permission)
        self.set_paused(request, [schedule], False, _("Resumed."))
        return self.back_to(schedule)

    @method_require_post
    def run_now_view(self, request, schedule_id):
        schedule = self.get_schedule(request, schedule_id, self.has_launch_permission)
        run = self.run_now(request, schedule)
        return HttpResponseRedirect(run.get_absolute_url()) if run else self.back_to(schedule)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_pause"] = self.has_pause_permission(request)
        context["can_launch"] = self.has_launch_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)


def flow_schedules(flow):
    """The flow page's list of schedules (one query)."""
    return list(flow.schedules.select_related("flow", "q_schedule", "last_run").order_by("name"))
