"""Task functions returning what machine-learning work returns (arrays, frames, models, NaN ...).

The consumers compare what they receive, through ``context.upstream`` and
through parameters named after the upstream tasks, with values made again
here, and return the verdicts as JSON, so that a test can read them.
"""

import math
from pathlib import Path

import numpy as np

try:
    import pandas as pd
except ImportError:  # pandas is an optional extra: the frame task returns None then
    pd = None


class Model:
    """A plain object standing for a trained model."""

    def __init__(self, weights, name):
        self.weights = weights
        self.name = name

    def __eq__(self, other):
        return (
            isinstance(other, Model)
            and self.name == other.name
            and np.array_equal(self.weights, other.weights)
        )

    def __repr__(self):
        return f"Model(name={self.name!r}, weights={self.weights!r})"


def array():
    return np.arange(12, dtype=np.float64).reshape(3, 4) / 7


def frame():
    if pd is None:
        return None
    return pd.DataFrame({"day": [1, 2, 3], "sales": [10.5, 11.0, float("nan")], "shop": ["a", "b", "c"]})


def arrays():
    return np.ones((2, 2), dtype=np.int32), np.linspace(0, 1, 5)


def model():
    return Model(np.array([0.5, -1.25]), "linear")


def not_a_number():
    return float("nan")


def int64():
    return np.int64(2**40 + 3)


EXPECTED = {
    "array": lambda value: isinstance(value, np.ndarray) and np.array_equal(value, array()),
    "frame": lambda value: pd is None or value.equals(frame()),
    "arrays": lambda value: (
        isinstance(value, tuple)
        and all(np.array_equal(got, want) for got, want in zip(value, arrays(), strict=True))
    ),
    "model": lambda value: value == model(),
    "not_a_number": lambda value: isinstance(value, float) and math.isnan(value),
    "int64": lambda value: type(value) is np.int64 and value == int64(),
}


def check_context(context):
    """Whether each upstream output, read through context.upstream, equals what was returned."""
    return {name: bool(EXPECTED[name](context.upstream[name])) for name in sorted(context.upstream)}


def check_named(array, frame, arrays, model, not_a_number, int64):
    """Whether each output received as a parameter named after its task equals what was returned."""
    received = locals()
    return {name: bool(EXPECTED[name](value)) for name, value in sorted(received.items())}


# Tampering -------------------------------------------------------------------------


def _trip(marker):
    """Called when a Tripwire is unpickled: the side effect a tampered pickle would have."""
    Path(marker).write_text("unpickled")
    return "tripped"


class Tripwire:
    """An object whose unpickling writes the file ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (_trip, (self.marker,))


def make_tripwire(marker):
    return Tripwire(marker)


def use_upstream(context):
    """Load every upstream output; return their types."""
    return {name: type(context.upstream[name]).__name__ for name in context.upstream}


def measure(context):
    """Log metrics per step and at once, and tags, as a training loop does."""
    for step, loss in enumerate([0.9, 0.5, 0.25]):
        context.log_metric("loss", loss, step=step)
    context.log_metrics({"accuracy": np.float64(0.875), "diverged": float("nan")})
    context.set_tag("algorithm", "linear")
    context.set_tag("algorithm", "ridge")  # the last value wins
    context.set_tag("features", 12)
    return "measured"


BIG_ROWS = 10_000  # x 1 250 float64 columns: 100 MB


def big_array():
    return np.arange(BIG_ROWS * 1250, dtype=np.float64).reshape(BIG_ROWS, 1250)


def array_sum(make):
    return float(make.sum())
