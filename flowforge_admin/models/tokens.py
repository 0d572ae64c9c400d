"""API tokens: how a program (a CI job, another service) calls the REST API as one user.

The token itself is shown once, when it is made; the database keeps only its
SHA-256 digest (a token is 32 random bytes, so a fast hash is enough: there is
nothing to guess), and a short prefix that lets people tell their tokens apart.
A token acts with its user's permissions and nothing more.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import get_setting

# Tokens start with this, so a leaked one is easy to recognise (secret scanners, logs).
TOKEN_PREFIX = "ffa_"
# How many characters after TOKEN_PREFIX are kept in clear, to tell tokens apart.
SHOWN_LENGTH = 8


# Never write last_used_at more often than this per token: a busy client would otherwise write
# on every request (a lock on SQLite, WAL traffic on PostgreSQL) for a time nobody needs exactly.
LAST_USED_PRECISION = timedelta(minutes=1)


def digest(token):
    """The stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def in_admin_zone(moment):
    """``moment`` as the admin's forms read and show times: in the current time zone, named."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M} {timezone.get_current_timezone_name()}"


def validate_expiry(expires_at, now=None):
    """Raise ``ValidationError`` unless ``expires_at`` (None: never) may be a new token's expiry.

    It must lie in the future and, when ``FLOWFORGE_API_TOKEN_MAX_DAYS`` is
    set, be given and at most that many days ahead. The admin's form and
    :class:`~flowforge_admin.actions.tokens.IssueTokenAction` both ask here.
    """
    now = now or timezone.now()
    max_days = get_setting("FLOWFORGE_API_TOKEN_MAX_DAYS")
    if expires_at is None:
        if max_days is not None:
            raise ValidationError(
                _("An expiry date is required: tokens may live at most %(days)s days here."),
                code="expiry_required",
                params={"days": max_days},
            )
        return
    if expires_at <= now:
        raise ValidationError(
            _("The expiry must be in the future (the time is now %(now)s)."),
            code="expiry_in_past",
            params={"now": in_admin_zone(now)},
        )
    if max_days is not None and expires_at > now + timedelta(days=max_days):
        raise ValidationError(
            _("The expiry may be at most %(days)s days ahead (until %(latest)s)."),
            code="expiry_too_far",
            params={"days": max_days, "latest": in_admin_zone(now + timedelta(days=max_days))},
        )


class ApiTokenQuerySet(models.QuerySet):
    def issue(self, user, name, *, expires_at=None):
        """Create a token for ``user``; return (ApiToken, the token in clear, shown only now)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = self.create(
            user=user,
            name=name,
            prefix=token[: len(TOKEN_PREFIX) + SHOWN_LENGTH],
            key_digest=digest(token),
            expires_at=expires_at,
        )
        return row, token

    def usable(self, now=None):
        """Tokens not revoked and not expired."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def expired(self, now=None):
        """Tokens not revoked whose expiry has passed."""
        return self.filter(revoked_at__isnull=True, expires_at__lte=now or timezone.now())

    def revoked(self):
        return self.filter(revoked_at__isnull=False)


class ApiToken(models.Model):
    class Status(models.TextChoices):
        """What a token is now: derived from revoked_at and expires_at, never stored."""

        ACTIVE = "active", _("active")
        EXPIRED = "expired", _("expired")
        REVOKED = "revoked", _("revoked")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="flowforge_api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What the token is for, e.g. 'CI deploy job'.")
    )
    prefix = models.CharField(_("starts with"), max_length=20, editable=False)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(
        _("expires"), null=True, blank=True, help_text=_("Empty: the token does not expire.")
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None):
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def status(self, now=None):
        """An ApiToken.Status: revoked wins over expired."""
        if self.revoked_at is not None:
            return self.Status.REVOKED
        return self.Status.ACTIVE if self.is_usable(now) else self.Status.EXPIRED

    def touch(self, now=None):
        """Record a use at ``now``, at most once per LAST_USED_PRECISION; return whether it wrote.

        The row in hand says whether a write is due, so most requests write
        nothing; the UPDATE's own condition keeps concurrent requests from
        writing the same minute twice.
        """
        now = now or timezone.now()
        if self.last_used_at is not None and self.last_used_at > now - LAST_USED_PRECISION:
            return False
        stale = models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lte=now - LAST_USED_PRECISION)
        written = type(self).objects.filter(stale, pk=self.pk).update(last_used_at=now)
        if written:
            self.last_used_at = now
        return bool(written)

    def revoke(self):
        """Revoke the token for good (idempotent); return whether this call revoked it.

        The conditional UPDATE (``revoked_at IS NULL``) makes two revokes at
        once count as one, so one admin-log entry is written.
        """
        if self.revoked_at is not None:
            return False
        now = timezone.now()
        changed = type(self).objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=now)
        if changed:
            self.revoked_at = now
        else:
            self.refresh_from_db(fields=["revoked_at"])
        return bool(changed)
