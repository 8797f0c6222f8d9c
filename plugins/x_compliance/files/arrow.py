"""numpy and Arrow arrays, one to the other without a copy and without pandas.

pyarrow's own ``to_numpy`` and ``pa.array`` import pandas first (0.2-0.3 s and 50 MB), in steps
that never use it: the parse of a day's results and the apply. These read and share the value
buffer of a numeric array without nulls instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

_NO_HEADER = pa_csv.WriteOptions(include_header=False, quoting_style="none")


def to_numpy(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric column without nulls as numpy, through its buffer."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    dtype = np.dtype(column.type.to_pandas_dtype())
    return np.frombuffer(
        column.buffers()[1], dtype=dtype, count=len(column), offset=column.offset * dtype.itemsize
    )


def from_numpy(values: np.ndarray) -> pa.Array:
    """A numeric numpy array as Arrow, sharing its buffer."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def text_lines(values: pa.Array) -> bytes:
    """A column as text, one value a line, formatted in C (Arrow's CSV writer, no header and
    no quotes: about twice as fast as Python's ``%d`` for int64)."""
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(pa.table({"value": values}), sink, _NO_HEADER)
    return sink.getvalue().to_pybytes()


def strings(values: list[str]) -> pa.Array:
    """A few Python strings (a dictionary of reasons) as an Arrow string array."""
    encoded = [value.encode() for value in values]
    offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )
