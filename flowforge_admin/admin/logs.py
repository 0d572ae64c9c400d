"""Task logs in the admin: one page per task run and attempt, followed live while it runs.

The task runs themselves are listed on their run's page, so this admin stays
out of the admin index; it serves three URLs per task run:

- ``log/``: a page of the attempt's log (filter by level, search), keyset
  paginated so a log of any size answers with the same few queries;
- ``log/lines/``: JSON of the lines after a given id, which the page's script
  polls to follow a running task;
- ``log/download/``: the attempt's log as a streamed text file.
"""

import re

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.http import content_disposition_header, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .. import logs_query
from ..models import FlowRun, TaskRun
from ..templatetags.flowforge import LABELS, breakable, duration, local_datetime, status_badge
from .attempt_outcome import attempt_outcome, attempt_statuses


class LogFilterForm(forms.Form):
    """The query parameters of the log URLs; the page shows ``level`` and ``q``."""

    attempt = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    level = forms.ChoiceField(
        label=_("Level"),
        required=False,
        choices=[("", _("All levels"))] + [(name, _("%s and above") % name) for name in logs_query.LEVELS],
    )
    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    before = forms.IntegerField(min_value=1, required=False)
    after = forms.IntegerField(min_value=0, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": _("Search messages"), "autocomplete": "off"}
        )

    def clean(self):
        data = super().clean()
        if data.get("before") is not None and data.get("after") is not None:
            raise forms.ValidationError(_("Give before or after, not both."), code="two_cursors")
        return data


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    """Read-only task runs, whose one page of their own is their log."""

    # Methods rather than the "run" key and the datetime fields, which Django keeps on one line:
    # the list fits 1 280 px when they may wrap.
    list_display = ["task_title", "run_title", "status_badge", "attempt", "started", "finished"]
    list_filter = ["status"]
    list_select_related = ["run"]
    search_fields = ["task_name", "run__flow_name"]
    ordering = ["-id"]
    show_full_result_count = False
    view_on_site = False

    # Lines on one page, and at most in one answer to a following page.
    log_page_size = 500
    log_lines_limit = 1000
    # How often a following page asks for new lines, and how many lines it keeps.
    log_poll_ms = 1500
    log_max_rows = 5000
    log_template = "admin/flowforge_admin/taskrun/log.html"

    class Media:
        css = {"all": ["flowforge_admin/css/admin.css"]}

    @admin.display(description=_("task"), ordering="task_name")
    def task_title(self, task_run):
        return breakable(task_run.task_name)

    @admin.display(description=_("run"), ordering="run_id")
    def run_title(self, task_run):
        return format_html("{} #{}", breakable(task_run.run.flow_name), task_run.run_id)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, task_run):
        return status_badge(task_run.status)

    @admin.display(description=_("started"), ordering="started_at")
    def started(self, task_run):
        return local_datetime(task_run.started_at, "Y-m-d H:i:s") if task_run.started_at else "—"

    @admin.display(description=_("finished"), ordering="finished_at")
    def finished(self, task_run):
        return local_datetime(task_run.finished_at, "Y-m-d H:i:s") if task_run.finished_at else "—"

    def get_model_perms(self, request):
        # Listed on their run's page, not in the admin index.
        return {}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<int:task_run_id>/log/", view(self.log_view), name=f"{prefix}_log"),
            path("<int:task_run_id>/log/lines/", view(self.log_lines_view), name=f"{prefix}_log_lines"),
            path(
                "<int:task_run_id>/log/download/", view(self.log_download_view), name=f"{prefix}_log_download"
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A task run's own page is its log."""
        task_run = self.get_task_run(request, unquote(object_id))
        return HttpResponseRedirect(reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk]))

    # Reading the request

    def get_task_run(self, request, task_run_id):
        """Return the task run (with its run) if the user may view it; raise 403 or 404."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        task_run = self.get_object(request, task_run_id)
        if task_run is None or not self.has_view_permission(request, task_run):
            raise Http404(_("This task run does not exist."))
        return task_run

    def get_queryset(self, request):
        # The page polls this every second or two: leave the run's parameters
        # and the task's output in the database.
        return super().get_queryset(request).select_related("run").defer("run__params", "output", "traceback")

    def get_log_params(self, request, task_run):
        """Return the valid filter form and its LogFilter; raise 400 on bad input, 404 on an unknown attempt.

        The attempt defaults to the task run's current one (0 before it starts).
        """
        form = LogFilterForm(request.GET)
        if not form.is_valid():
            raise BadRequest(form.errors.as_text())
        attempt = form.cleaned_data["attempt"] or task_run.attempt
        if attempt > task_run.attempt:
            raise Http404(_("This task run has no attempt %(attempt)s.") % {"attempt": attempt})
        log_filter = logs_query.LogFilter(
            task_run_id=task_run.pk,
            attempt=attempt,
            min_level=logs_query.LEVELS.get(form.cleaned_data["level"]),
            search=form.cleaned_data["q"],
        )
        return form, log_filter

    # The three views

    def log_view(self, request, task_run_id):
        """The log page: one keyset page of the attempt, followed live at its end."""
        task_run = self.get_task_run(request, task_run_id)
        form, log_filter = self.get_log_params(request, task_run)
        before, after = form.cleaned_data["before"], form.cleaned_data["after"]
        page = logs_query.read_page(log_filter, self.log_page_size, before=before, after=after)
        outcome = self.get_outcome(task_run, log_filter.attempt)
        context = {
            **self.admin_site.each_context(request),
            **self.get_log_context(request, task_run, log_filter, form, page),
            # Follow a running attempt from the last line shown, when the page shows the end of
            # the log. A recorded attempt was replaced: nothing more comes for it.
            "follow": page.newer_after is None
            and not self.attempt_finished(task_run, log_filter)
            and not (outcome and outcome.recorded),
            "follow_after": page.last_id or after or (before - 1 if before else 0),
            "outcome": outcome,
            "output": outcome.output if outcome else None,
        }
        if outcome and outcome.recorded:
            # The summary shows the attempt itself, not the task run's current one.
            context["attempt_started_at"] = outcome.started_at or context["attempt_started_at"]
            context["duration_seconds"] = outcome.duration_seconds
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.log_template, context)

    def log_lines_view(self, request, task_run_id):
        """JSON: the lines after ``after`` (capped), and the task run's state, to follow it."""
        task_run = self.get_task_run(request, task_run_id)
        form, log_filter = self.get_log_params(request, task_run)
        after = form.cleaned_data["after"] or 0
        lines, more = logs_query.read_after(log_filter, after, self.log_lines_limit)
        return JsonResponse(
            {
                "lines": [self.serialize_line(line) for line in lines],
                "last_id": lines[-1].id if lines else after,
                "more": more,
                "attempt": log_filter.attempt,
                "current_attempt": task_run.attempt,
                "status": task_run.status,
                "status_label": str(LABELS.get(task_run.status, task_run.status)),
                "duration": duration(self.duration_seconds(task_run)),
                "finished": self.attempt_finished(task_run, log_filter),
            }
        )

    def log_download_view(self, request, task_run_id):
        """The attempt's log as a text file, streamed in chunks whatever its size."""
        task_run = self.get_task_run(request, task_run_id)
        _form, log_filter = self.get_log_params(request, task_run)
        lines = (line.as_text() for line in logs_query.iter_lines(log_filter))
        response = StreamingHttpResponse(lines, content_type="text/plain; charset=utf-8")
        filename = f"{task_run.run.flow_name}-run{task_run.run_id}-{task_run.task_name}-attempt{log_filter.attempt}.log"
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
        return response

    # Hooks

    def serialize_line(self, line):
        """Return one line as the page's script shows it; override to add fields."""
        return {
            "id": line.id,
            "time": line.timestamp,
            "level": line.level_name,
            "severity": line.severity,
            "source": line.source,
            "message": line.message,
        }

    def get_outcome(self, task_run, attempt):
        """The AttemptOutcome of ``attempt`` (status, error, output), or None: read for the page only.

        The queryset leaves the output in the database (the page's poll reads none).
        """
        return attempt_outcome(task_run, attempt)

    def attempt_finished(self, task_run, log_filter):
        """Whether the attempt is over: no new line will come for it.

        True when the task run is finished or a later attempt has begun; an
        attempt that never began (0) ends only when the task run does.
        """
        return task_run.is_finished or 0 < log_filter.attempt < task_run.attempt

    def duration_seconds(self, task_run):
        """Seconds the task has run, from its first start (kept across retries by the worker), or None."""
        if task_run.started_at is None:
            return None
        end = task_run.finished_at or timezone.now()
        return max((end - task_run.started_at).total_seconds(), 0.0)

    def attempt_started_at(self, task_run, attempt):
        """When ``attempt`` began, or None before it did.

        A retry's log opens with the line the worker writes as it begins
        (engine/worker.py); the first attempt began at the task run's start,
        unless a re-run moved that start on, when its own first line is earlier.
        """
        if attempt < 1:
            return None
        first_line = (
            task_run.logs.filter(attempt=attempt).order_by("id").values_list("logged_at", flat=True).first()
        )
        if attempt > 1:
            return first_line
        return min((t for t in (task_run.started_at, first_line) if t is not None), default=None)

    def get_log_context(self, request, task_run, log_filter, form, page):
        """Return the template context of the log page (besides the admin's own)."""
        run = task_run.run
        keep = {
            "attempt": log_filter.attempt or None,
            "level": form.cleaned_data["level"],
            "q": log_filter.search,
        }
        base = reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk])
        statuses = attempt_statuses(task_run) if task_run.attempt > 1 else {}
        return {
            "title": _("Log of %(task)s") % {"task": task_run.task_name},
            "opts": self.opts,
            "run_opts": FlowRun._meta,
            "task_run": task_run,
            "run": run,
            "can_view_runs": request.user.has_perm("flowforge_admin.view_flowrun"),
            "attempt": log_filter.attempt,
            # (number, URL, status or None when its outcome was not kept)
            "attempts": [
                (number, self.log_url(base, {**keep, "attempt": number}), statuses.get(number))
                for number in range(1, task_run.attempt + 1)
            ],
            "duration_seconds": self.duration_seconds(task_run),
            "attempt_started_at": self.attempt_started_at(task_run, log_filter.attempt),
            "form": form,
            "filtered": bool(log_filter.min_level or log_filter.search),
            "unfiltered_url": self.log_url(base, {"attempt": keep["attempt"]}),
            "rows": [(line, highlight(line.message, log_filter.search)) for line in page.lines],
            "page": page,
            "first_url": self.log_url(base, {**keep, "after": 0}) if page.older_before else None,
            "older_url": self.log_url(base, {**keep, "before": page.older_before})
            if page.older_before
            else None,
            "newer_url": self.log_url(base, {**keep, "after": page.newer_after})
            if page.newer_after is not None
            else None,
            "newest_url": self.log_url(base, keep) if page.newer_after is not None else None,
            "lines_url": self.log_url(
                reverse("admin:flowforge_admin_taskrun_log_lines", args=[task_run.pk]), keep
            ),
            # The download is the whole attempt: filters are for reading on screen.
            "download_url": self.log_url(
                reverse("admin:flowforge_admin_taskrun_log_download", args=[task_run.pk]),
                {"attempt": keep["attempt"]},
            ),
            "page_size": self.log_page_size,
            "poll_ms": self.log_poll_ms,
            "max_rows": self.log_max_rows,
        }

    @staticmethod
    def log_url(base, params):
        """Return ``base`` with the non-empty ``params`` as its query string."""
        query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
        return f"{base}?{query}" if query else base


def highlight(text, search):
    """Return ``text`` escaped, with each case-insensitive match of ``search`` in <mark>."""
    if not search:
        return escape(text)
    parts = re.split(f"({re.escape(search)})", text, flags=re.IGNORECASE)
    # Odd items are the matches (the pattern's one group).
    return mark_safe(
        "".join(
            f"<mark>{escape(part)}</mark>" if index % 2 else escape(part) for index, part in enumerate(parts)
        )
    )
