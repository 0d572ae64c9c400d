"""The three ways an alert goes out. Each returns the response code (or None) or raises.

:class:`Undeliverable` means another attempt would fail alike (no recipient, a
callable no longer allowed): the delivery fails at once instead of retrying.
"""

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from ..conf import get_setting
from ..definitions import registry

SIGNATURE_HEADER = "X-Flowforge-Signature"


class Undeliverable(Exception):
    """The delivery cannot succeed as the alert stands; retrying is pointless."""


class DeliveryFailed(Exception):
    """One attempt failed (it may be retried); ``code`` is the HTTP status, if any."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def signature(secret, body):
    """The X-Flowforge-Signature value of ``body`` (bytes): ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(alert, payload, delivery_id):
    """POST the payload as JSON, signed with the alert's secret; return the response code."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    request = urllib.request.Request(
        alert.webhook_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "flowforge-alerts",
            SIGNATURE_HEADER: signature(alert.secret, body),
            "X-Flowforge-Event": payload["event"],
            "X-Flowforge-Delivery": str(delivery_id),
        },
    )
    try:
        with urllib.request.urlopen(
            request, timeout=get_setting("FLOWFORGE_ALERT_TIMEOUT_SECONDS")
        ) as response:
            return response.status
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(f"HTTP {error.code} {error.reason}", code=error.code) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryFailed(f"could not reach {alert.webhook_url}: {reason}") from error


def recipients(alert):
    """The alert's addresses, then its users' and its groups' active users' addresses, once each."""
    User = get_user_model()
    found = list(alert.address_list())
    users = User.objects.filter(is_active=True).exclude(email="")
    found += users.filter(pk__in=alert.users.values("pk")).values_list("email", flat=True)
    found += users.filter(groups__in=alert.groups.values("pk")).values_list("email", flat=True)
    return list(dict.fromkeys(found))


def send_email(alert, payload, delivery_id):
    """Send the summary and links through Django's e-mail framework; return None."""
    to = recipients(alert)
    if not to:
        raise Undeliverable("no recipient has an e-mail address")
    subject = payload["text"].splitlines()[0]
    links = "\n".join(f"{name}: {url}" for name, url in payload["links"].items() if url)
    send_mail(
        subject[:200],
        f"{payload['text']}\n\n{links}\n",
        get_setting("FLOWFORGE_ALERT_FROM_EMAIL"),  # None: DEFAULT_FROM_EMAIL
        to,
    )
    return None


def call_callable(alert, payload, delivery_id):
    """Call the alert's function with the payload, if it is still allowed; return None."""
    problem = registry.function_checker(paths=[alert.callable_path])(alert.callable_path)
    if problem:
        raise Undeliverable(problem)
    try:
        func = import_string(alert.callable_path)
    except ImportError as error:
        raise Undeliverable(f"{alert.callable_path!r} cannot be imported: {error}") from error
    func(payload)
    return None


SENDERS = {"webhook": send_webhook, "email": send_email, "callable": call_callable}
