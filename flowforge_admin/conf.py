"""Settings of the app (``FLOWFORGE_*``) with their defaults, read when used.

Reading through ``get_setting`` instead of at import time keeps
``override_settings`` working in tests.
"""

from django.conf import settings

DEFAULTS = {
    # Modules whose public functions may be chosen as task functions without
    # being registered from code (trusted: imported to list the choices).
    "FLOWFORGE_FUNCTION_MODULES": [],
}


def get_setting(name):
    """Return the project's value of ``name``, or the app's default."""
    return getattr(settings, name, DEFAULTS[name])
