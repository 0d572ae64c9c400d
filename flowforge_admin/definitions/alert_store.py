"""Code-defined alerts (AlertSpec) -> FlowAlert rows.

Registration is the source of truth for the alerts it defines: each
registration replaces the flow's code-defined alerts (``origin="code"``) with
the ones given, matched by name so that an alert that stays keeps its row,
its deliveries' link and its secret (a generated one, when the code gives
none). Alerts made in the admin are left alone.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from ..models import FlowAlert

# AlertSpec field -> FlowAlert field, for the plain ones.
PLAIN_FIELDS = ("enabled", "sla_seconds", "channel", "webhook_url", "text", "callable_path")


def replace_code_alerts(flow, specs):
    """Make the flow's code-defined alerts exactly ``specs``; return True if anything changed."""
    existing = {
        alert.name: alert for alert in FlowAlert.objects.filter(flow=flow, origin=FlowAlert.Origin.CODE)
    }
    User = get_user_model()
    changed = False
    for spec in specs:
        alert = existing.pop(spec.name, None)
        values = {name: getattr(spec, name) for name in PLAIN_FIELDS}
        values["events"] = list(spec.events)
        values["addresses"] = "\n".join(spec.addresses)
        if spec.secret:
            values["secret"] = spec.secret
        elif alert is not None and alert.channel != spec.channel:
            values["secret"] = ""  # a new one is made for a new webhook
        if alert is None:
            alert = FlowAlert(flow=flow, name=spec.name, origin=FlowAlert.Origin.CODE)
        if alert.pk is None or any(getattr(alert, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(alert, name, value)
            alert.save()
            changed = True
        users = list(
            User.objects.filter(**{f"{User.USERNAME_FIELD}__in": spec.users}).values_list("pk", flat=True)
        )
        groups = list(Group.objects.filter(name__in=spec.groups).values_list("pk", flat=True))
        if set(alert.users.values_list("pk", flat=True)) != set(users):
            alert.users.set(users)
            changed = True
        if set(alert.groups.values_list("pk", flat=True)) != set(groups):
            alert.groups.set(groups)
            changed = True
    for alert in existing.values():
        alert.delete()
        changed = True
    return changed
