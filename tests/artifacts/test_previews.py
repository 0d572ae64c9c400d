"""Previews of values that are not JSON: what the admin shows, bounded whatever the value."""

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flowforge_admin.artifacts import previews

from .. import data_tasks as d
from ..conftest import require_service


def size_of(preview):
    return len(json.dumps(preview, allow_nan=False))


def test_an_array_shows_shape_dtype_and_first_values():
    preview = previews.preview(np.array([[1.5, np.nan], [np.inf, 2.0]]))
    assert preview == {"kind": "array", "shape": [2, 2], "dtype": "float64", "head": [1.5, "nan", "inf", 2.0]}


def test_a_data_frame_shows_shape_dtypes_and_first_rows():
    require_service("pandas", d.pd is not None, "install pandas and pyarrow (requirements-dev.txt)")
    frame = d.pd.DataFrame({"n": range(100), "text": ["x" * 200] * 100})
    preview = previews.preview(frame)
    assert preview["shape"] == [100, 2]
    assert preview["dtypes"]["n"] == "int64"
    assert len(preview["rows"]) == previews.FRAME_ROWS
    assert preview["rows"][3][0] == "3"
    assert len(preview["rows"][0][1]) == previews.CELL_CHARS


def test_an_object_shows_its_repr_cut_short_and_a_broken_repr_does_not_fail():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no")

    assert previews.preview(Broken())["text"].startswith("<Broken instance at 0x")
    long = previews.preview("x" * 10_000)
    assert len(long["text"]) <= previews.REPR_CHARS


def test_type_names_are_dotted_except_builtins():
    assert previews.type_name(np.int64(1)) == "numpy.int64"
    assert previews.type_name((1,)) == "tuple"
    assert previews.type_name(d.model()) == "tests.data_tasks.Model"


values = st.recursive(
    st.one_of(
        st.none(),
        st.floats(),
        st.integers(),
        st.text(max_size=2000),
        st.binary(max_size=2000),
        st.complex_numbers(),
        hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(max_dims=3, max_side=40)),
    ),
    lambda inner: st.lists(inner, max_size=30) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner),
    max_leaves=60,
)


@settings(max_examples=150, deadline=None)
@given(values)
def test_every_preview_is_strict_json_of_bounded_size(value):
    preview = previews.preview(value)
    assert preview["kind"] in {"array", "sequence", "repr", "dataframe"}
    assert size_of(preview) < 60_000
