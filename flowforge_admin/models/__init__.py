"""The app's models, split by concern and re-exported here.

Import them from this package (``from flowforge_admin.models import Flow``).
Submodules keep the direction of dependencies: ``functions`` needs nothing,
``flows`` may use ``functions``; later record models (runs) may use both.
"""

from .flows import Flow, Task
from .functions import TaskFunction

__all__ = ["Flow", "Task", "TaskFunction"]
