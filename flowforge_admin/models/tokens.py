"""API tokens: how a program (a CI job, another service) calls the REST API as one user.

The token itself is shown once, when it is made; the database keeps only its
SHA-256 digest (a token is 32 random bytes, so a fast hash is enough: there is
nothing to guess), and a short prefix that lets people tell their tokens apart.
A token acts with its user's permissions and nothing more.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Tokens start with this, so a leaked one is easy to recognise (secret scanners, logs).
TOKEN_PREFIX = "ffa_"
# How many characters after TOKEN_PREFIX are kept in clear, to tell tokens apart.
SHOWN_LENGTH = 8


def digest(token):
    """The stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


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


class ApiToken(models.Model):
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

    def revoke(self):
        """Revoke the token for good (idempotent)."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            type(self).objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)
