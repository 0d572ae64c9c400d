"""What a task function may ask for by declaring a ``context`` parameter."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TaskContext:
    """The run a task belongs to, and what its upstream tasks made.

    ``upstream`` maps the names of the tasks this one waited for (its own
    dependencies and its groups'; for a group's own function, its children)
    to their outputs. ``params`` are the run's parameters merged over the
    flow's and the task's defaults.
    """

    run_id: int
    flow_name: str
    task_name: str
    attempt: int
    params: dict = field(default_factory=dict)
    upstream: dict = field(default_factory=dict)
