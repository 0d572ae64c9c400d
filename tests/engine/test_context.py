"""context.log_metric, log_metrics and set_tag: what they accept, and the clear error for anything else."""

import math

import numpy as np
import pytest

from flowforge_admin.engine.context import TaskContext


class Recorder:
    def __init__(self):
        self.metrics, self.tags = [], {}

    def add_metric(self, name, value, step):
        self.metrics.append((name, value, step))

    def set_tag(self, key, value):
        self.tags[key] = value


@pytest.fixture
def context():
    return TaskContext(run_id=1, flow_name="f", task_name="t", attempt=1, recorder=Recorder())


def test_numbers_of_any_kind_are_recorded_as_floats(context):
    context.log_metric("loss", np.float32(0.5), step=np.int64(3))
    context.log_metric("count", 7)
    context.log_metric("nan", math.nan)
    context.log_metric("inf", -math.inf)
    assert context.recorder.metrics == [
        ("loss", 0.5, 3),
        ("count", 7.0, None),
        ("nan", None, None),
        ("inf", -math.inf, None),
    ]


@pytest.mark.parametrize(
    ("name", "value", "step", "message"),
    [
        ("", 1, None, "the metric name must be non-empty text, not ''"),
        (None, 1, None, "the metric name must be non-empty text, not None"),
        ("x" * 101, 1, None, "must be 1 to 100 printable characters"),
        ("a\nb", 1, None, "must be 1 to 100 printable characters"),
        ("loss", "0.5", None, "metric 'loss': the value must be a real number, not str"),
        ("loss", True, None, "metric 'loss': the value must be a real number, not bool"),
        ("loss", 1j, None, "metric 'loss': the value must be a real number, not complex"),
        ("loss", 1, 1.5, "metric 'loss': the step must be a whole number, not 1.5"),
        ("loss", 1, 2**63, "metric 'loss': step 9223372036854775808 is too large"),
    ],
)
def test_a_bad_metric_is_refused_saying_what_is_wrong(context, name, value, step, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        context.log_metric(name, value, step)
    assert context.recorder.metrics == []


def test_log_metrics_records_all_or_nothing(context):
    with pytest.raises(ValueError, match="metric 'b': the value must be a real number"):
        context.log_metrics({"a": 1, "b": "two"})
    assert context.recorder.metrics == []
    context.log_metrics({"a": 1, "b": 2}, step=0)
    assert context.recorder.metrics == [("a", 1.0, 0), ("b", 2.0, 0)]
    with pytest.raises(ValueError, match="log_metrics takes a dict"):
        context.log_metrics([("a", 1)])


def test_tags_are_text(context):
    context.set_tag("algorithm", "xgboost")
    context.set_tag("depth", 3)
    assert context.recorder.tags == {"algorithm": "xgboost", "depth": "3"}
    with pytest.raises(ValueError, match="tag 'long': the value has 501 characters, more than 500"):
        context.set_tag("long", "x" * 501)
