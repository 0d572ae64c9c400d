"""The ``--user USERNAME`` of the commands that change something on someone's behalf.

With it, the change is made as that user (``run_flow``: their permission is
checked) and written to Django's admin log in their name, as the admin's
button would; without it, the command is trusted code with no user to
record (:mod:`flowforge_admin.actions.base`).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

EXIT_BAD_INPUT = 2


def acting_user(username):
    """Return the user named by ``--user`` (None without it); an unknown one is bad input (exit 2)."""
    if username is None:
        return None
    User = get_user_model()
    try:
        return User.objects.get_by_natural_key(username)
    except User.DoesNotExist:
        raise CommandError(f"--user {username!r}: no such user", returncode=EXIT_BAD_INPUT) from None
