"""The engine's periodic lost-work check, made sure of after every migrate."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate, dispatch_uid="flowforge_admin.ensure_lost_work_check")
def ensure_lost_work_check(sender, **kwargs):
    # django_q's tables exist by now: it is migrated before this app.
    if sender.label == "flowforge_admin":
        from .engine.recovery import ensure_schedule

        ensure_schedule()
