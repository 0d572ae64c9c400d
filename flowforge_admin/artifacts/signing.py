"""The HMAC an artifact's bytes carry: a worker loads a file only if it still matches.

HMAC-SHA256 with a key derived from ``SECRET_KEY`` (as Django's
``salted_hmac`` derives its keys), over the bytes written. The signature is
kept in the Artifact row, away from the file: changing a file in the store
without the key makes it fail the check. Keys of ``SECRET_KEY_FALLBACKS`` are
accepted too, so that artifacts survive a key rotation as sessions do.
"""

import hashlib
import hmac

from django.conf import settings

KEY_SALT = "flowforge_admin.artifacts.signing"


def _key(secret):
    return hashlib.sha256((KEY_SALT + secret).encode()).digest()


def signer():
    """Return a new HMAC object for the current key: ``update()`` it with the bytes, ``hexdigest()`` at the end."""
    return hmac.new(_key(settings.SECRET_KEY), digestmod=hashlib.sha256)


def matches(data, signature):
    """Whether ``data`` (bytes-like) carries ``signature`` under the current key or a fallback one."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(
        hmac.compare_digest(hmac.new(_key(secret), data, hashlib.sha256).hexdigest(), signature)
        for secret in secrets
    )
