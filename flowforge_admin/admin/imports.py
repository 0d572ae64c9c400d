"""Import of flow definition files in the admin.

django-import-export's own import goes row by row through a model; a flow
file is imported per file instead (all rows -> FlowSpecs -> validation ->
preview -> one transaction), so these are small views of our own around
:class:`flowforge_admin.actions.imports.ImportFlowsAction`, using the
library's format classes.

Import (needs add and change permission on flows): upload -> preview per
flow (tasks added, changed with their fields, removed; dependency and
schedule changes, a warning for each flow defined in code; or the errors by
row and column) -> confirm (POST) writes it, with an admin log entry per flow
written. The uploaded file waits for the confirmation under the var directory,
named by a random token bound to the user; the confirmation checks it again
against the database as it is then. Export is :mod:`.exports`.
"""

import re
import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from ..actions.imports import ImportFlowsAction
from ..conf import get_setting
from ..definitions.files.formats import FORMATS, format_from_filename
from .exports import FORMAT_CHOICES, FlowExportMixin

PENDING_SECONDS = 24 * 3600
TOKEN_RE = re.compile(r"^[0-9]+-[A-Za-z0-9_-]{20,64}$")


def pending_dir():
    """Return the directory where uploads wait for their confirmation (``FLOWFORGE_IMPORT_PENDING_DIR``)."""
    configured = get_setting("FLOWFORGE_IMPORT_PENDING_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "flowforge_admin-imports"


class ImportForm(forms.Form):
    import_file = forms.FileField(label=_("File"))
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("", _("from the file name")), *FORMAT_CHOICES],
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("import_file")
        if upload is None:
            return cleaned
        limit = get_setting("FLOWFORGE_IMPORT_MAX_BYTES")
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)d bytes, more than the limit of %(limit)d bytes.")
                % {"size": upload.size, "limit": limit}
            )
        cleaned["format"] = cleaned.get("format") or format_from_filename(upload.name)
        if not cleaned["format"]:
            raise forms.ValidationError(
                _("Cannot tell the format from the file name %(name)s: choose one.") % {"name": upload.name}
            )
        return cleaned


class FlowImportMixin:
    """Adds the Import page (upload, preview, confirm) to FlowAdmin."""

    import_template = "admin/flowforge_admin/import_export/import.html"

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{name}_import"),
            *super().get_urls(),
        ]

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "has_import_permission": self.has_import_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        """GET: the upload form. POST: a file -> the preview; a token with confirm -> the write."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "confirm" in request.POST:
            return self._confirm(request)
        form = ImportForm(request.POST or None, request.FILES or None)
        context = {"form": form}
        if request.method == "POST" and form.is_valid():
            content = form.cleaned_data["import_file"].read()
            format_name = form.cleaned_data["format"]
            plan = ImportFlowsAction(content, format_name, dry_run=True, user=request.user).execute()
            context.update(plan=plan, format=format_name, file_name=form.cleaned_data["import_file"].name)
            if plan.is_valid and plan.changes:
                context["token"] = self._keep(request, content)
        return self._render_import(request, context)

    def _render_import(self, request, context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import flows"),
            "max_bytes": get_setting("FLOWFORGE_IMPORT_MAX_BYTES"),
            **context,
        }
        plan = context.get("plan")
        if plan is not None:
            context["flow_rows"] = [_flow_preview(change) for change in plan.flows]
        return TemplateResponse(request, self.import_template, context)

    def _keep(self, request, content):
        """Keep an uploaded file until its confirmation; return its token (user-bound)."""
        token = f"{request.user.pk}-{secrets.token_urlsafe(24)}"
        directory = pending_dir()
        # Only this user may read it: the default lies in the shared temporary directory.
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Previews never confirmed are dropped after a day.
        stale = time.time() - PENDING_SECONDS
        for old in directory.iterdir():
            if TOKEN_RE.match(old.name) and old.stat().st_mtime < stale:
                old.unlink(missing_ok=True)
        (directory / token).write_bytes(content)
        return token

    def _confirm(self, request):
        token = request.POST.get("token", "")
        format_name = request.POST.get("format", "")
        if not TOKEN_RE.match(token) or not token.startswith(f"{request.user.pk}-"):
            raise PermissionDenied
        pending = pending_dir() / token
        if format_name not in FORMATS or not pending.exists():
            messages.error(
                request, _("This import has expired or was already applied: upload the file again.")
            )
            return HttpResponseRedirect(request.path)
        action = ImportFlowsAction(
            pending.read_bytes(), format_name, user=request.user, how=_("Imported in the admin")
        )
        plan = action.execute()
        if not plan.is_valid:
            # The database changed since the preview: show what is wrong now (nothing was written).
            return self._render_import(request, {"form": ImportForm(), "plan": plan, "format": format_name})
        pending.unlink(missing_ok=True)
        changed = plan.changes
        for change in changed:
            for warning in change.warnings:
                messages.warning(request, _("Warning: %(warning)s.") % {"warning": warning})
        messages.success(
            request,
            _("Imported: %(created)d flow(s) created, %(changed)d changed, %(unchanged)d unchanged.")
            % {
                "created": sum(1 for change in changed if change.status == "created"),
                "changed": sum(1 for change in changed if change.status == "changed"),
                "unchanged": len(plan.flows) - len(changed),
            },
        )
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))


def _flow_preview(change):
    """What the preview table shows for one flow."""
    return {
        "name": change.name,
        "status": change.status,
        "flow_fields": change.flow_fields,
        "tasks_added": change.tasks_added,
        "tasks_removed": change.tasks_removed,
        "tasks_changed": change.tasks_changed,
        "deps_added": [f"{task} ← {up}" for task, up in change.deps_added],
        "deps_removed": [f"{task} ← {up}" for task, up in change.deps_removed],
        "schedules_added": change.schedules_added,
        "schedules_changed": change.schedules_changed,
        "schedules_removed": change.schedules_removed,
        "warnings": change.warnings,
    }


class FlowImportExportMixin(FlowImportMixin, FlowExportMixin):
    """Adds Import / Export buttons, their pages and an "Export selected flows" action to FlowAdmin."""

    change_list_template = "admin/flowforge_admin/import_export/flow_change_list.html"
