"""API tokens in the admin: every staff user makes, names and revokes his own.

A superuser sees everyone's tokens and may revoke (or delete) any, but makes
tokens only for himself. A new token is shown in clear once, on the page that
answers the form's POST; it is stored nowhere (not in the session, not in a
message) and no page shows it again: the change page shows its first
characters only.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..actions.tokens import IssueTokenAction, RevokeTokenAction
from ..exceptions import refusal_message
from ..forms.tokens import ApiTokenForm
from ..models import ApiToken
from ..templatetags.flowforge import local_datetime
from .runs import method_require_post

# The change page: only the name may change, and only while the token is not revoked.
DETAIL_FIELDS = ["name", "user", "starts_with", "status", "created", "expires", "last_used", "revoked"]


def moment(value, empty):
    if not value:
        return empty
    return format_html("{} {}", local_datetime(value), timezone.get_current_timezone_name())


class TokenStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ApiToken.Status.choices

    def queryset(self, request, queryset):
        chosen = {
            ApiToken.Status.ACTIVE: queryset.usable,
            ApiToken.Status.EXPIRED: queryset.expired,
            ApiToken.Status.REVOKED: queryset.revoked,
        }.get(self.value())
        return chosen() if chosen else queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "user", "starts_with", "created", "expires", "last_used", "status"]
    list_select_related = ["user"]
    search_fields = ["name", "prefix"]
    actions = ["revoke_selected"]
    change_form_template = "admin/flowforge_admin/apitoken/change_form.html"
    created_template = "admin/flowforge_admin/apitoken/created.html"
    view_on_site = False

    class Media:
        css = {"all": ["flowforge_admin/css/admin.css", "flowforge_admin/css/tokens.css"]}

    # Whose tokens ------------------------------------------------------------

    def get_queryset(self, request):
        """Every token for a superuser, else the user's own."""
        queryset = super().get_queryset(request).select_related("user")
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def is_own_or_superuser(self, request, token):
        return token is None or request.user.is_superuser or token.user_id == request.user.pk

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self.is_own_or_superuser(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.is_own_or_superuser(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Revoking keeps the record of a token (its admin log, when it was last used); deleting
        # loses it, so only a superuser may, e.g. to tidy up after a user left.
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_list_display(self, request):
        # Everyone else sees only his own tokens: no need to say whose they are.
        shown = super().get_list_display(request)
        return shown if request.user.is_superuser else [name for name in shown if name != "user"]

    def get_list_filter(self, request):
        return [TokenStatusFilter, "user"] if request.user.is_superuser else [TokenStatusFilter]

    # The pages ---------------------------------------------------------------

    def get_fields(self, request, obj=None):
        return ["name", "expires_at"] if obj is None else DETAIL_FIELDS

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.revoked_at is not None or not self.has_change_permission(request, obj):
            return DETAIL_FIELDS
        return DETAIL_FIELDS[1:]

    @admin.display(description=_("starts with"), ordering="prefix")
    def starts_with(self, token):
        # No ellipsis: the column says "starts with", and the list must fit 1 280 px.
        return format_html("<code>{}</code>", token.prefix)

    @admin.display(description=_("status"))
    def status(self, token):
        status = token.status()
        return format_html('<span class="ff-token-status ff-token-{}">{}</span>', status, status.label)

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, token):
        return moment(token.created_at, "—")

    @admin.display(description=_("expires"), ordering="expires_at")
    def expires(self, token):
        return moment(token.expires_at, _("never"))

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, token):
        return moment(token.last_used_at, _("never"))

    @admin.display(description=_("revoked"))
    def revoked(self, token):
        return moment(token.revoked_at, "—")

    # Create: the action makes the token; the answer shows it once -------------

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        row, token = IssueTokenAction(
            request.user,
            form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
            user=request.user,
        ).execute()
        # The admin goes on with ``obj`` (its pk, its log, its answer): make it the new row.
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(row, field.attname))
        obj._state.adding, obj._state.db = False, row._state.db
        obj.token_in_clear = token

    def log_addition(self, request, obj, message):
        # IssueTokenAction has written the entry, in its own words.
        return None

    def response_add(self, request, obj, post_url_continue=None):
        """The token in clear, once: in this answer to the POST and nowhere else."""
        context = {
            **self.admin_site.each_context(request),
            "title": _("API token created"),
            "opts": self.opts,
            "token": obj,
            "token_in_clear": obj.token_in_clear,
            "change_url": reverse("admin:flowforge_admin_apitoken_change", args=[obj.pk]),
            "expires": moment(obj.expires_at, _("never")),
        }
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, self.created_template, context)
        # admin_view already forbids caching; say it for this page in so many words.
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        return response

    # Revoke: a button on the change page and an action on the list ------------

    def get_urls(self):
        view = self.admin_site.admin_view(self.revoke_view)
        return [
            path("<int:token_id>/revoke/", view, name="flowforge_admin_apitoken_revoke"),
            *super().get_urls(),
        ]

    @method_require_post
    def revoke_view(self, request, token_id):
        token = get_object_or_404(self.get_queryset(request), pk=token_id)
        if not self.has_change_permission(request, token):
            raise PermissionDenied
        self.revoke(request, [token])
        return HttpResponseRedirect(reverse("admin:flowforge_admin_apitoken_change", args=[token.pk]))

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        self.revoke(request, queryset)

    def revoke(self, request, tokens):
        """Revoke every one of ``tokens``, or none (one transaction); say how many."""
        try:
            with transaction.atomic():
                count = sum(RevokeTokenAction(token, user=request.user).execute() for token in tokens)
        except PermissionDenied as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
            return
        if count:
            message = ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", count)
            self.message_user(request, message % {"count": count}, messages.SUCCESS)
        else:
            self.message_user(request, _("Nothing to revoke: already revoked."), messages.WARNING)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_revoke"] = (
            obj is not None and obj.revoked_at is None and self.has_change_permission(request, obj)
        )
        # Adding answers with the token's page whatever the button; a revoked token has nothing to save.
        context["show_save_and_add_another"] = False
        context["show_save_and_continue"] = False
        if obj is not None and obj.revoked_at is not None:
            context["show_save"] = False
        return super().render_change_form(request, context, add, change, form_url, obj)
