"""The app's models, split by concern and re-exported here.

Import them from this package (``from flowforge_admin.models import Flow``).
Submodules keep the direction of dependencies: ``functions`` needs nothing,
``flows`` may use ``functions``; ``runs`` (records written by the engine) may use both;
``events`` (a run's history, written by the actions) uses ``runs``;
``pools`` needs nothing;
``tokens`` (API tokens) needs only the user model;
``artifacts`` (outputs that are not JSON, metrics, tags) uses ``runs``;
``alerts`` (a flow's alerts and their deliveries) uses ``flows`` and ``runs``;
``schedules`` uses ``flows`` and ``runs`` (so ``FlowRun.schedule`` names it by string)
and keeps its Django-Q2 row in step (:mod:`flowforge_admin.q_schedules`).
"""

from .alerts import AlertDelivery, FlowAlert
from .artifacts import Artifact, Metric, Tag
from .events import RunEvent
from .flows import Flow, Task
from .functions import TaskFunction
from .pools import Pool
from .runs import Approval, FlowRun, RunSnapshot, TaskAttempt, TaskLog, TaskRun
from .schedules import FlowSchedule
from .tokens import ApiToken

__all__ = [
    "AlertDelivery",
    "ApiToken",
    "Approval",
    "Artifact",
    "Flow",
    "FlowAlert",
    "FlowRun",
    "FlowSchedule",
    "Metric",
    "Pool",
    "RunEvent",
    "RunSnapshot",
    "Tag",
    "Task",
    "TaskAttempt",
    "TaskFunction",
    "TaskLog",
    "TaskRun",
]
