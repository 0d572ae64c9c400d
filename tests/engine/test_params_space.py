"""Any run parameters either launch and read back as given, or are refused with a message: never a crash.

Property-based over the space that used to break later: floats with NaN and
infinities, integers far beyond 64 bits, deep nesting, text a database
refuses (NUL, lone surrogates), large values. Runs on SQLite and, through
tests/test_postgresql.py, on PostgreSQL (whose jsonb refused NaN with a 500).
"""

import math

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.definitions.params import check_params
from flowforge_admin.models import FlowRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["\ud800", "a\u0000b", "\udfff tail", "x" * 70_000])
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


def nested(depth, leaf):
    value = leaf
    for index in range(depth):
        value = [value] if index % 2 else {"k": value}
    return value


deep_values = st.builds(nested, st.integers(min_value=1, max_value=200), scalars)


def same_json(given, stored):
    """Equal as JSON numbers are: PostgreSQL may give back 1e300 as the integer it writes."""
    if isinstance(given, float) or isinstance(stored, float):
        return isinstance(stored, (int, float)) and math.isclose(float(given), float(stored), rel_tol=1e-15)
    if isinstance(given, dict):
        return (
            isinstance(stored, dict)
            and given.keys() == stored.keys()
            and all(same_json(given[key], stored[key]) for key in given)
        )
    if isinstance(given, list):
        return (
            isinstance(stored, list)
            and len(given) == len(stored)
            and all(same_json(a, b) for a, b in zip(given, stored, strict=True))
        )
    return given == stored and type(given) is type(stored)


def launch_or_refuse(value):
    """Launch with {"x": value}; return the refusal's text, or None after checking the stored run."""
    FlowRun.objects.all().delete()
    flow = register_task_pipeline("space", {"ok": {"function": t.echo}})
    try:
        run = launch_flow(flow, {"x": value})
    except ValidationError as error:
        assert not FlowRun.objects.exists()
        return "; ".join(error.messages)
    run.refresh_from_db()
    assert same_json({"x": value}, run.params)
    return None


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values | deep_values)
def test_params_launch_and_read_back_or_are_refused_with_a_message(value):
    refusal = launch_or_refuse(value)
    assert (refusal is None) is (check_params({"x": value}) is None)
    if refusal is not None:
        assert refusal.startswith("params")


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        nested(40, 1),
        nested(5000, 1),
        "\ud800",
        "a\u0000b",
        10**5000,
    ],
    ids=["nan", "inf", "-inf", "depth 40", "depth 5000", "surrogate", "NUL", "5000 digits"],
)
def test_values_that_broke_later_are_refused(value):
    assert launch_or_refuse(value) is not None
