"""What a task function may ask for by declaring a ``context`` parameter."""

import math
import numbers
from dataclasses import dataclass, field

NAME_CHARS = 100
TAG_VALUE_CHARS = 500


@dataclass(frozen=True)
class TaskContext:
    """The run a task belongs to, what its upstream tasks made, and where its metrics go.

    ``upstream`` maps the names of the tasks this one waited for (its own
    dependencies and its groups'; for a group's own function, its children)
    to their outputs; an artifact (an output that is not JSON) is loaded
    when first looked up. ``params`` are the run's parameters merged over
    the flow's and the task's defaults. ``logical_date`` is the moment of
    data the run is for (its launch, or the fire time of its schedule).
    """

    run_id: int
    flow_name: str
    task_name: str
    attempt: int
    params: dict = field(default_factory=dict)
    upstream: dict = field(default_factory=dict)
    # The moment of data the run is for (aware datetime), and its data interval (or None).
    logical_date: object = None
    data_interval_start: object = None
    data_interval_end: object = None
    # Where log_metric and set_tag record (the attempt's LogCapture); None: nowhere.
    recorder: object = field(default=None, repr=False, compare=False)
    # A mapped task's instance: its place (0..n-1) in the list it maps over; None otherwise.
    map_index: int | None = None

    def log_metric(self, name, value, step=None):
        """Record the number ``value`` as metric ``name`` of this task run, at ``step`` if given.

        ``value`` is any real number (NumPy's too); NaN and infinities are
        kept. ``step`` (an epoch, an iteration) is a whole number. A bad
        name, value or step raises ValueError saying which.
        """
        name = _checked_name(name, "metric name")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"metric {name!r}: the value must be a real number, not {type(value).__name__}")
        value = float(value)
        if step is not None:
            if isinstance(step, bool) or not isinstance(step, numbers.Integral):
                raise ValueError(f"metric {name!r}: the step must be a whole number, not {step!r}")
            step = int(step)
            if abs(step) >= 2**63:
                raise ValueError(f"metric {name!r}: step {step} is too large")
        if self.recorder is not None:
            self.recorder.add_metric(name, None if math.isnan(value) else value, step)

    def log_metrics(self, metrics, step=None):
        """Record every ``{name: value}`` of ``metrics``, at ``step`` if given (checked first: all or none)."""
        if not isinstance(metrics, dict):
            raise ValueError(
                f"log_metrics takes a dict of metric names to numbers, not {type(metrics).__name__}"
            )
        checking = TaskContext(self.run_id, self.flow_name, self.task_name, self.attempt)
        for name, value in metrics.items():
            checking.log_metric(name, value, step)
        for name, value in metrics.items():
            self.log_metric(name, value, step)

    def set_tag(self, key, value):
        """Label this run with ``key`` = ``value`` (text, or anything ``str()`` turns into text)."""
        key = _checked_name(key, "tag key")
        text = value if isinstance(value, str) else str(value)
        if len(text) > TAG_VALUE_CHARS:
            raise ValueError(
                f"tag {key!r}: the value has {len(text)} characters, more than {TAG_VALUE_CHARS}"
            )
        if self.recorder is not None:
            self.recorder.set_tag(key, text)


def _checked_name(name, what):
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"the {what} must be non-empty text, not {name!r}")
    if len(name) > NAME_CHARS or not name.isprintable():
        raise ValueError(f"the {what} {name[:40]!r}... must be 1 to {NAME_CHARS} printable characters")
    return name
