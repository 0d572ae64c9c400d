"""The three role groups of DESIGN.md, kept up to date after every migrate.

A data migration cannot create them: permissions are only created after
migrations run, by Django's own ``post_migrate`` receiver. This receiver is
idempotent and sets each group's permissions exactly, so a new model or
permission in a later release reaches existing groups on the next migrate.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import post_migrate
from django.dispatch import receiver

APP_LABEL = "flowforge_admin"

# Models editors define; run records are never edited by hand.
EDITABLE_MODELS = ["flow", "task", "flowschedule", "pool", "flowalert"]
# Operator codenames; a codename whose model does not exist yet is skipped.
OPERATOR_CODENAMES = ["launch_flow", "cancel_run", "pause_schedule"]
# Every role makes and revokes API tokens (a Stakeholder's token reads, as he does): each user
# his own, which the admin (admin/tokens.py) and the actions (actions/tokens.py) enforce.
OWN_TOKEN_CODENAMES = ["add_apitoken", "change_apitoken"]


def role_codenames():
    """Return {group name: set of codenames of this app} for the three roles."""
    models = [model._meta.model_name for model in apps.get_app_config(APP_LABEL).get_models()]
    stakeholder = {f"view_{model}" for model in models} | {
        codename for codename in OWN_TOKEN_CODENAMES if codename.rpartition("_")[2] in models
    }
    operator = stakeholder | set(OPERATOR_CODENAMES)
    editor = operator | {
        f"{action}_{model}"
        for model in EDITABLE_MODELS
        if model in models
        for action in ("add", "change", "delete")
    }
    return {"Stakeholder": stakeholder, "Operator": operator, "Editor": editor}


def sync_role_groups(using="default"):
    """Create the role groups if needed and give each exactly its permissions."""
    permissions = {
        permission.codename: permission
        for permission in Permission.objects.using(using).filter(content_type__app_label=APP_LABEL)
    }
    for group_name, codenames in role_codenames().items():
        group, _ = Group.objects.using(using).get_or_create(name=group_name)
        group.permissions.set(
            [permissions[codename] for codename in sorted(codenames) if codename in permissions]
        )


@receiver(post_migrate, dispatch_uid="flowforge_admin.sync_role_groups")
def sync_role_groups_after_migrate(sender, using="default", **kwargs):
    # django.contrib.auth's receiver, connected earlier, has just created this
    # app's permissions on the same signal.
    if sender.label == APP_LABEL:
        sync_role_groups(using=using)
