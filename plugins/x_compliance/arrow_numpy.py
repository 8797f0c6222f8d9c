"""Move arrays between pyarrow and numpy through their buffers.

pyarrow's own conversions (``to_numpy``, ``pa.array``, ``pa.scalar``) first import pandas to
ask whether the value is a pandas object: 0.3 s and 50 MB, the first time in a process, for a
step that never uses pandas. These helpers do the same for plain fixed-width columns without it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# The empty string, for filling nulls. ``pa.scalar("")`` would be the pandas-importing way.
EMPTY_TEXT = pa.StringArray.from_buffers(1, pa.py_buffer(bytes(8)), pa.py_buffer(b""))[0]


def to_numpy(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A fixed-width column without nulls as a numpy array (a copy only when it is chunked)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count:
        raise ValueError("to_numpy: the column has nulls")
    dtype = np.dtype(column.type.to_pandas_dtype())
    return np.frombuffer(
        column.buffers()[1], dtype=dtype, count=len(column), offset=column.offset * dtype.itemsize
    )


def from_numpy(values: np.ndarray) -> pa.Array:
    """A 1-D numpy array of a fixed-width type as a pyarrow array (no copy when contiguous)."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])
