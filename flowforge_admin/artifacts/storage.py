"""Where artifacts are kept: the project's ``"flowforge"`` storage, or a directory of the app's own.

A host that defines ``STORAGES["flowforge"]`` (django-storages' S3, GCS or
Azure backends, say) gets its artifacts there with no code. Otherwise they
go to a FileSystemStorage under ``FLOWFORGE_ARTIFACT_ROOT``, which has no
URL: artifacts are only ever served by the admin's permission-checked
download view, never as public files.
"""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages

from ..conf import get_setting

ALIAS = "flowforge"


def artifact_root():
    """Return the directory of the default storage (when STORAGES has no "flowforge")."""
    root = get_setting("FLOWFORGE_ARTIFACT_ROOT")
    if root:
        return os.fspath(root)
    return os.path.join(os.fspath(getattr(settings, "BASE_DIR", os.getcwd())), "flowforge-artifacts")


def get_storage():
    """Return the Storage artifacts are written to and read from (read when used: tests override it)."""
    if ALIAS in settings.STORAGES:
        return storages[ALIAS]
    return FileSystemStorage(location=artifact_root(), base_url=None)
