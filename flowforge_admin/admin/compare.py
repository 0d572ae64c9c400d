"""Compare runs: the run list's "Compare selected runs" action and the page it leads to.

The action checks the selection (MIN_RUNS to MAX_RUNS runs) and goes to
``compare/?ids=1,2,3`` (admin:flowforge_admin_flowrun_compare), a GET page that
anyone who may view runs may open; what it shows is built by run_comparison.
A bad ``ids`` is sent back to the run list with a message, never an error page.
"""

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import FlowRun
from .run_comparison import compare

MIN_RUNS = 2
MAX_RUNS = 5


class BadSelection(ValueError):
    """The runs asked for cannot be compared; the message says why."""


def parse_ids(text):
    """Return the run ids of ``text`` ("1,2,3"), in order, without repeats; raise BadSelection."""
    low, high = connection.ops.integer_field_range(FlowRun._meta.pk.get_internal_type())
    ids = []
    for part in (text or "").split(","):
        part = part.strip().lstrip("#")
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or not max(low, 1) <= int(part) <= (high or int(part)):
            raise BadSelection(_("“%(id)s” is not a run id.") % {"id": part[:20]})
        if int(part) not in ids:
            ids.append(int(part))
    check_count(len(ids))
    return ids


def check_count(count):
    if not MIN_RUNS <= count <= MAX_RUNS:
        raise BadSelection(
            _("Select from %(min)d to %(max)d runs to compare them (%(count)d selected).")
            % {"min": MIN_RUNS, "max": MAX_RUNS, "count": count}
        )


class CompareRunsMixin:
    """For FlowRunAdmin: the compare action and the compare page."""

    compare_template = "admin/flowforge_admin/flowrun/compare.html"

    def get_urls(self):
        compare_url = path(
            "compare/",
            self.admin_site.admin_view(self.compare_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_compare",
        )
        # Ahead of the default URLs, whose "<path:object_id>/" would take it.
        return [compare_url, *super().get_urls()]

    def get_actions(self, request):
        # Added here rather than in ``actions``, so that the admin's own list of actions stays its own.
        actions = super().get_actions(request)
        if self.actions is not None and IS_POPUP_VAR not in request.GET and self.has_view_permission(request):
            func, name, description = self.get_action("compare_selected")
            actions[name] = (func, name, description)
        return actions

    @admin.action(permissions=["view"], description=gettext_lazy("Compare selected runs"))
    def compare_selected(self, request, queryset):
        """Go to the compare page of the selected runs (2 to 5), or say why not."""
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[: MAX_RUNS + 1])
        try:
            check_count(len(ids) if len(ids) <= MAX_RUNS else queryset.count())
        except BadSelection as error:
            self.message_user(request, str(error), messages.WARNING)
            return None
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_compare")
        return HttpResponseRedirect(f"{url}?ids={','.join(str(pk) for pk in ids)}")

    def compare_view(self, request):
        """The runs of ``?ids=`` side by side, in the order given."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            ids = parse_ids(request.GET.get("ids", ""))
            found = FlowRun.objects.filter(pk__in=ids).select_related("flow").in_bulk()
            missing = [pk for pk in ids if pk not in found]
            if missing:
                raise BadSelection(
                    _("There is no run %(ids)s: it may have been deleted.")
                    % {"ids": ", ".join(f"#{pk}" for pk in missing)}
                )
        except BadSelection as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        runs = [found[pk] for pk in ids]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Compare runs %(ids)s") % {"ids": ", ".join(f"#{pk}" for pk in ids)},
            "opts": self.opts,
            "runs": runs,
            "comparison": compare(runs),
            "min_runs": MIN_RUNS,
            "max_runs": MAX_RUNS,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.compare_template, context)
