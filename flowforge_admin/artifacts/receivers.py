"""A deleted Artifact row takes its file with it, once the deletion commits.

A receiver rather than code in each delete: deleting a run (one or in bulk,
from the admin, a command or code) cascades to its task runs' artifacts, and
Django sends ``post_delete`` for each of them. Files go after the commit, so
a deletion that rolls back keeps them.
"""

import functools

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from ..models import Artifact
from . import files


@receiver(post_delete, sender=Artifact, dispatch_uid="flowforge_admin.artifacts.remove_file")
def remove_file(sender, instance, using, **kwargs):
    transaction.on_commit(functools.partial(files.remove, [instance.path]), using=using)
