"""What the admin shows of a value that is not JSON, made by the worker when it stores the value.

The web process never loads an artifact (it may be a pickle), so everything a
page shows of it is decided here, bounded in size whatever the value:

- ``{"kind": "array", "shape", "dtype", "head"}``: the first values of a NumPy array;
- ``{"kind": "dataframe", "shape", "columns", "dtypes", "rows"}``: a DataFrame's first rows;
- ``{"kind": "sequence", "type", "length", "items"}``: a tuple or list, its first items previewed;
- ``{"kind": "repr", "text"}``: anything else, its ``repr`` cut short.
"""

import math
import reprlib
import sys

ARRAY_VALUES = 20
FRAME_ROWS = 10
FRAME_COLUMNS = 20
CELL_CHARS = 60
SEQUENCE_ITEMS = 10
REPR_CHARS = 500
NESTING = 3

_repr = reprlib.Repr()  # (its keyword arguments need Python 3.12)
_repr.maxlevel, _repr.maxdict, _repr.maxlist, _repr.maxtuple, _repr.maxset = 3, 10, 10, 10, 10
_repr.maxstring = _repr.maxother = REPR_CHARS


def type_name(value):
    """Return the value's type as ``module.Name`` (builtins by their bare name)."""
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def preview(value, depth=0):
    """Return the JSON preview of ``value`` (one of the shapes above); never raises."""
    try:
        numpy = sys.modules.get("numpy")
        pandas = sys.modules.get("pandas")
        if numpy is not None and isinstance(value, numpy.ndarray):
            return _array(value)
        if pandas is not None and isinstance(value, pandas.DataFrame):
            return _frame(value)
        if isinstance(value, (tuple, list)) and depth < NESTING:
            return {
                "kind": "sequence",
                "type": type_name(value),
                "length": len(value),
                "items": [preview(item, depth + 1) for item in value[:SEQUENCE_ITEMS]],
            }
        return {"kind": "repr", "type": type_name(value), "text": _cut(_repr.repr(value), REPR_CHARS)}
    except Exception as error:  # a broken __repr__ must not lose the output
        return {"kind": "repr", "type": type_name(value), "text": f"(no preview: {type(error).__name__})"}


def _array(array):
    head = array.reshape(-1)[:ARRAY_VALUES] if array.size else array.reshape(-1)
    return {
        "kind": "array",
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "head": [_scalar(item) for item in head.tolist()],
    }


def _frame(frame):
    columns = list(frame.columns[:FRAME_COLUMNS])
    shown = frame.iloc[:FRAME_ROWS, :FRAME_COLUMNS]
    return {
        "kind": "dataframe",
        "shape": list(frame.shape),
        "columns": [_cut(str(column), CELL_CHARS) for column in columns],
        "dtypes": {
            _cut(str(column), CELL_CHARS): str(frame.dtypes.iloc[i]) for i, column in enumerate(columns)
        },
        "rows": [[_cut(str(cell), CELL_CHARS) for cell in row] for row in shown.itertuples(index=False)],
    }


def _scalar(item):
    """A JSON number for a finite number (floats to six significant digits), text for anything else."""
    if isinstance(item, bool) or item is None:
        return item
    if isinstance(item, int):
        return item if abs(item) < 2**53 else str(item)
    if isinstance(item, float):
        # Six significant digits: a preview to read, not the data (the download has every digit).
        return float(f"{item:.6g}") if math.isfinite(item) else str(item)
    return _cut(str(item), CELL_CHARS)


def _cut(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"
