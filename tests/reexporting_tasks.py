"""A trusted module (listed by the allowlist tests) that imports functions it does not define.

``run`` and ``rmtree`` would run a shell command or delete a tree with
whatever arguments an operator passes; ``fetch_data1`` is harmless but still
defined elsewhere. None of them may become a task function through this
module: only ``own_task`` is defined here.
"""

from shutil import rmtree  # noqa: F401
from subprocess import run  # noqa: F401

from tests.flow_functions import fetch_data1  # noqa: F401


def own_task():
    """A function this module defines."""
    return "own"
