"""Export of flow definition files in the admin.

Export (needs view permission): a format, then the file of every flow or of
the flows selected; the list's "Export selected flows" action leads there.
The file is made by :mod:`flowforge_admin.definitions.files.export` through
the django-import-export resource, so it has the bytes ``export_flows`` writes.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from ..definitions.files.formats import format_for
from ..definitions.files.resource import FlowDefinitionResource
from .query_params import ids_in_range

FORMAT_CHOICES = [
    ("yaml", "YAML"),
    ("json", "JSON"),
    ("csv", "CSV"),
    ("xlsx", "XLSX"),
]


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=FORMAT_CHOICES, initial="yaml")


class FlowExportMixin:
    """Adds the Export page and an "Export selected flows" action to FlowAdmin."""

    export_template = "admin/flowforge_admin/import_export/export.html"

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name=f"{name}_export"),
            *super().get_urls(),
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_export_permission(request):
            action = FlowExportMixin.export_selected
            actions["export_selected"] = (action, "export_selected", action.short_description)
        return actions

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "has_export_permission": self.has_export_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Export selected flows"))
    def export_selected(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_export")
        return HttpResponseRedirect(f"{url}?ids={ids}")

    def export_view(self, request):
        """GET only: the form, or (with ?format=) the file of all flows or of ?ids=."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        queryset = self.model.objects.all()
        ids = [part for part in request.GET.get("ids", "").split(",") if part.isdigit()]
        if ids:
            # An id no flow can have selects nothing (never every flow, never a 500).
            queryset = queryset.filter(pk__in=ids_in_range(self.model, "pk", ids))
        form = ExportForm(request.GET if "format" in request.GET else None)
        if form.is_bound and form.is_valid():
            format_name = form.cleaned_data["format"]
            content = FlowDefinitionResource().export_file(queryset, format_name)
            response = HttpResponse(content, content_type=format_for(format_name).get_content_type())
            response["Content-Disposition"] = f'attachment; filename="flows.{format_name}"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Export flows"),
            "form": form,
            "flows": list(queryset.values_list("name", flat=True)) if ids else None,
            "ids": ",".join(ids),
            "flow_count": queryset.count(),
        }
        return TemplateResponse(request, self.export_template, context)
