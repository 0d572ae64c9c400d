"""System checks of the configuration Flow Forge relies on."""

import importlib

from django.conf import settings
from django.core.checks import Error, Tags, register

from .conf import get_setting


@register(Tags.compatibility)
def check_function_modules(app_configs, **kwargs):
    """flowforge_admin.E001: every trusted function module must import."""
    errors = []
    for module in get_setting("FLOWFORGE_FUNCTION_MODULES"):
        try:
            importlib.import_module(module)
        except Exception as error:  # any failure to import is this error, not a crash of `check`
            errors.append(
                Error(
                    f"FLOWFORGE_FUNCTION_MODULES lists {module!r}, which cannot be imported: {error}",
                    hint="Fix the module path or remove it from the setting.",
                    id="flowforge_admin.E001",
                )
            )
    return errors


@register(Tags.compatibility)
def check_q_cluster(app_configs, **kwargs):
    """flowforge_admin.E002: Django-Q2 must not redeliver a message while it still runs."""
    conf = getattr(settings, "Q_CLUSTER", {})
    timeout, retry = conf.get("timeout"), conf.get("retry", 60)
    if timeout is None or timeout >= retry:
        return [
            Error(
                f"Q_CLUSTER timeout ({timeout}) must be set and below retry ({retry}).",
                hint="Otherwise the broker delivers a task again while it is still running.",
                id="flowforge_admin.E002",
            )
        ]
    return []
