"""The rules of a flow's alerts, whatever the entrance: ``register_task_pipeline(alerts=...)`` or the admin.

:func:`field_problems` checks one alert's fields (the model's ``clean()``
calls it); :func:`read_alerts` turns registration's list of dicts into
:class:`AlertSpec` items, reporting every problem at once as a
:class:`~flowforge_admin.exceptions.FlowDefinitionError` whose items name the
flow, the alert (``alerts[0]``) and the key. A callable must pass the same
allowlist as task functions (:func:`registry.function_checker`): nothing is
imported here unless its module is trusted, and only a worker calls it.
"""

import difflib
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from ..exceptions import FlowDefinitionError
from ..states import AlertEvent
from . import registry
from .rules import Problem

EVENTS = tuple(AlertEvent.values)
# Keys of one alert in register_task_pipeline(alerts=[...]).
ALERT_KEYS = frozenset(
    {
        "name",
        "on",
        "sla_seconds",
        "email",
        "users",
        "groups",
        "webhook",
        "secret",
        "text",
        "callable",
        "enabled",
    }
)
# Which keys choose which channel (e-mail's three may go together).
CHANNEL_KEYS = {"email": ("email", "users", "groups"), "webhook": ("webhook",), "callable": ("callable",)}
SLA_MAX = 2**31 - 1
_url_validator = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class AlertSpec:
    """One alert as registration gives it (plain data; stored by definitions.alert_store)."""

    name: str
    events: tuple
    channel: str
    sla_seconds: int | None = None
    addresses: tuple = ()
    users: tuple = ()
    groups: tuple = ()
    webhook_url: str = ""
    secret: str = ""
    text: str = ""
    callable_path: str = ""
    enabled: bool = True


def split_addresses(text):
    """The e-mail addresses in ``text``, separated by commas, semicolons or lines."""
    return [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]


def check_events(events, sla_seconds):
    """Yield (field, message) for a bad list of events or SLA."""
    if not isinstance(events, list | tuple) or not events:
        yield "events", f"must be a non-empty list of events: {', '.join(EVENTS)}"
        return
    for event in events:
        if event not in EVENTS:
            close = difflib.get_close_matches(str(event), EVENTS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            yield "events", f"unknown event {event!r}{hint}; expected one of {', '.join(EVENTS)}"
    has_sla = AlertEvent.SLA_MISSED in events
    if has_sla and sla_seconds is None:
        yield "sla_seconds", "the sla_missed event needs sla_seconds: how long a run may take"
    elif sla_seconds is not None and (
        isinstance(sla_seconds, bool) or not isinstance(sla_seconds, int) or not 1 <= sla_seconds <= SLA_MAX
    ):
        yield "sla_seconds", f"must be a whole number of seconds from 1 to {SLA_MAX}, not {sla_seconds!r}"
    elif sla_seconds is not None and not has_sla:
        yield "sla_seconds", "is only used with the sla_missed event: add it, or leave sla_seconds out"


def check_addresses(addresses):
    """Return what is wrong with a list of e-mail addresses, or None."""
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        return f"not an e-mail address: {', '.join(repr(address) for address in bad)}"
    return None


def check_webhook_url(url):
    """Return what is wrong with a webhook URL, or None."""
    if not isinstance(url, str) or not url:
        return "a webhook needs a URL"
    try:
        _url_validator(url)
    except ValidationError:
        return f"{url!r} is not an http or https URL"
    return None


def check_callable(path):
    """Return what keeps ``path`` from being an alert's callable (the task functions' allowlist), or None."""
    if not isinstance(path, str) or not path:
        return "a callable alert needs the dotted path of a function"
    return registry.function_checker(paths=[path])(path)


def field_problems(*, events, sla_seconds, channel, addresses="", webhook_url="", callable_path=""):
    """Yield (model field, message) for everything wrong with one alert's fields."""
    yield from check_events(events, sla_seconds)
    if channel == "email":
        problem = check_addresses(split_addresses(addresses))
        if problem:
            yield "addresses", problem
    elif channel == "webhook":
        problem = check_webhook_url(webhook_url)
        if problem:
            yield "webhook_url", problem
    elif channel == "callable":
        problem = check_callable(callable_path)
        if problem:
            yield "callable_path", problem


def read_alerts(flow_name, alerts):
    """Return the AlertSpecs of registration's ``alerts`` (a list of dicts, or None: none).

    Raise FlowDefinitionError naming every problem; users and groups must exist.
    """
    if alerts is None:
        return []
    if not isinstance(alerts, list | tuple):
        raise FlowDefinitionError(
            [
                Problem(
                    flow_name, None, "alerts", "must be a list of dicts such as {'on': [...], ...}", "invalid"
                )
            ]
        )
    problems, specs, names = [], [], set()
    for index, entry in enumerate(alerts):
        where = f"alerts[{index}]"

        def problem(key, message, code="invalid_alert", where=where):
            problems.append(Problem(flow_name, None, f"{where}.{key}" if key else where, message, code))

        if not isinstance(entry, dict):
            problem("", "must be a dict such as {'on': ['run_failed'], 'webhook': 'https://...'}")
            continue
        for key in sorted(set(entry) - ALERT_KEYS, key=str):
            problem(key, f"unknown key; expected one of {', '.join(sorted(ALERT_KEYS))}", "unknown_key")
        spec = _read_one(entry, index, problem)
        if spec is None:
            continue
        if spec.name in names:
            problem("name", f"two alerts are named {spec.name!r}: give each its own name")
        names.add(spec.name)
        specs.append(spec)
    _check_people(specs, problems, flow_name, alerts)
    if problems:
        raise FlowDefinitionError(problems)
    return specs


def _read_one(entry, index, problem):
    channels = [channel for channel, keys in CHANNEL_KEYS.items() if any(key in entry for key in keys)]
    if len(channels) != 1:
        problem("", "needs exactly one channel: 'email' (with 'users', 'groups'), 'webhook' or 'callable'")
        return None
    [channel] = channels
    events = entry.get("on")
    if isinstance(events, str):
        events = [events]
    for field, message in check_events(events, entry.get("sla_seconds")):
        problem("on" if field == "events" else field, message)
    fields = {}
    if channel == "email":
        addresses, users, groups = (
            _names(entry.get(key), key, problem) for key in ("email", "users", "groups")
        )
        if not (addresses or users or groups):
            problem("email", "an e-mail alert needs addresses ('email'), 'users' or 'groups'")
        if (message := check_addresses(addresses)) is not None:
            problem("email", message)
        fields.update(addresses=tuple(addresses), users=tuple(users), groups=tuple(groups))
    elif channel == "webhook":
        if (message := check_webhook_url(entry.get("webhook"))) is not None:
            problem("webhook", message)
        secret, text = entry.get("secret") or "", entry.get("text") or ""
        if not isinstance(secret, str) or len(secret) > 128:
            problem("secret", "must be text of at most 128 characters")
        if not isinstance(text, str) or len(text) > 300:
            problem("text", "must be text of at most 300 characters")
        fields.update(webhook_url=entry.get("webhook") or "", secret=str(secret), text=str(text))
    else:
        path = entry.get("callable")
        if callable(path):
            try:
                path = registry.function_path(path)
            except ValueError as error:
                problem("callable", str(error))
                path = ""
        if path and (message := check_callable(path)) is not None:
            problem("callable", message)
        fields["callable_path"] = path or ""
    name = entry.get("name") or f"alert {index + 1}"
    if not isinstance(name, str) or len(name) > 100:
        problem("name", "must be text of at most 100 characters")
        name = str(name)[:100]
    return AlertSpec(
        name=name,
        events=tuple(events) if isinstance(events, list | tuple) else (),
        channel=channel,
        sla_seconds=entry.get("sla_seconds"),
        enabled=bool(entry.get("enabled", True)),
        **fields,
    )


def _names(value, key, problem):
    """A list of strings from ``value`` (a string or a list of them)."""
    if value is None:
        return []
    if isinstance(value, str):
        return split_addresses(value) if key == "email" else [value]
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return list(value)
    problem(key, "must be a list of names or addresses")
    return []


def _check_people(specs, problems, flow_name, alerts):
    """Every user and group named must exist (one query each for all alerts)."""
    users = {name for spec in specs for name in spec.users}
    groups = {name for spec in specs for name in spec.groups}
    User = get_user_model()
    known_users = set(
        User.objects.filter(**{f"{User.USERNAME_FIELD}__in": users}).values_list(
            User.USERNAME_FIELD, flat=True
        )
    )
    known_groups = set(Group.objects.filter(name__in=groups).values_list("name", flat=True))
    for index, spec in enumerate(specs):
        where = f"alerts[{_index_of(alerts, spec, index)}]"
        for name in spec.users:
            if name not in known_users:
                problems.append(
                    Problem(flow_name, None, f"{where}.users", f"no user {name!r}", "unknown_user")
                )
        for name in spec.groups:
            if name not in known_groups:
                problems.append(
                    Problem(flow_name, None, f"{where}.groups", f"no group {name!r}", "unknown_group")
                )


def _index_of(alerts, spec, default):
    """The index of the dict ``spec`` was read from (skipped entries shift the specs' own)."""
    for index, entry in enumerate(alerts):
        if isinstance(entry, dict) and (entry.get("name") or f"alert {index + 1}") == spec.name:
            return index
    return default
