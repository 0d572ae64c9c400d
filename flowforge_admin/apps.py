from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlowForgeAdminConfig(AppConfig):
    name = "flowforge_admin"
    verbose_name = _("Flow Forge")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # System checks, and the receivers that keep the role groups, the
        # flows' versions, the lost-work check and the retention schedule up to date, that hand a
        # dead worker's attempts on as its replacement starts (the watchdog), that remove a
        # deleted artifact's file, and that let a worker acknowledge its
        # message with the task's outcome. Flow modules are *not* imported
        # here: only `manage.py sync_flows` does.
        from . import checks, roles  # noqa: F401
        from .artifacts import receivers as artifact_receivers  # noqa: F401
        from .definitions import receivers  # noqa: F401
        from .engine import acknowledgement, recovery, retention, watchdog  # noqa: F401
