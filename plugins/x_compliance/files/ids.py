"""What an ID is, written once: one value at a time, or a whole block or column at C speed.

An ID (a Post or user id, or a compliance job id) is 1 to 19 ASCII digits, and since the
warehouse stores it as BIGINT, at most 9223372036854775807. ``str.isdigit`` is not the rule:
it lets Arabic-Indic and superscript digits through. Export, upload, the results reader, apply
and the hook (job ids in URLs) all ask this module.

:func:`id_problem` says why one value is not an ID. :func:`count_id_lines` (a block of lines)
and :func:`first_bad_id` (an Arrow text column) apply the same rule to many values at once,
through one check of digit runs (:func:`_runs_are_ids`). numpy and pyarrow are imported by
those functions, not here: the triggerer loads this module through the hook and never needs
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

MAX_DIGITS = 19
MAX_BIGINT = 2**63 - 1
MAX_ID_TEXT = str(MAX_BIGINT).encode()
ZERO, NINE, NEWLINE = ord("0"), ord("9"), ord("\n")
_DIGITS_AND_NEWLINE = b"0123456789\n"


def id_problem(text: str | bytes) -> str | None:
    """Why ``text`` is not an ID, or None when it is one."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    if not raw.isdigit():  # bytes.isdigit is ASCII-only, unlike str.isdigit
        return "only ASCII digits 0-9 are allowed" if not raw.isascii() else "expected 1 to 19 ASCII digits"
    if len(raw) > MAX_DIGITS:
        return f"more than {MAX_DIGITS} digits"
    if len(raw) == MAX_DIGITS and raw > MAX_ID_TEXT:
        return f"above {MAX_BIGINT}, the largest BIGINT"
    return None


def _runs_are_ids(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> bool:
    """Whether the runs of ``data`` (uint8) at ``starts`` of ``lengths`` bytes, already known to
    be ASCII digits only, are IDs: 1 to 19 digits, and a 19-digit one not above the BIGINT
    maximum (compared as text, which for equal lengths is comparing numbers)."""
    import numpy as np

    if not len(lengths):
        return True
    if lengths.min() < 1 or lengths.max() > MAX_DIGITS:
        return False
    longest = starts[lengths == MAX_DIGITS]
    longest = longest[data[longest] == NINE]  # below 9000000000000000000 every 19-digit run fits
    if not len(longest):
        return True
    rows = data[longest[:, None] + np.arange(MAX_DIGITS)]
    return not (rows.view(f"S{MAX_DIGITS}") > MAX_ID_TEXT).any()


def count_id_lines(block: bytes) -> int | None:
    """The number of lines of ``block`` when every one is an ID exactly as X takes it (digits
    and a ``\\n``: no padding, ``\\r``, BOM or blank line), else None.

    The usual block (every ID as long, as an export writes them) costs a strided look at the
    newlines and one subtraction: with the newline positions zeroed, every other byte minus
    ``"0"`` must be at most 9 (a byte below ``"0"`` wraps round to above it).
    """
    import numpy as np

    width = block.find(b"\n") + 1
    if width < 2 or not block.endswith(b"\n"):
        return None
    data = np.frombuffer(block, np.uint8)
    count = len(block) // width
    if (
        width <= MAX_DIGITS + 1
        and count * width == len(block)
        and (data[width - 1 :: width] == NEWLINE).all()
    ):
        digits = data - np.uint8(ZERO)
        digits[width - 1 :: width] = 0
        if digits.max() > 9:
            return None
        if width <= MAX_DIGITS:
            return count  # fewer than 19 digits: every one fits a BIGINT
        nines = np.flatnonzero(data[::width] == NINE) * width  # only those can pass the maximum
        return count if _runs_are_ids(data, nines, np.full(len(nines), MAX_DIGITS)) else None
    if block.translate(None, _DIGITS_AND_NEWLINE):
        return None
    ends = np.flatnonzero(data == NEWLINE)
    lengths = np.diff(ends, prepend=-1) - 1
    return len(ends) if _runs_are_ids(data, ends - lengths, lengths) else None


def first_bad_id(column: pa.Array | pa.ChunkedArray) -> int | None:
    """Position of the first value of a text column that is not an ID (nulls included), or None.

    The rule at C speed on the column's own buffers (no copy, no pandas); only a column that
    fails is looked at value by value, to say where.
    """
    import numpy as np
    import pyarrow as pa

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not len(array):
        return None
    if not array.null_count:
        wide = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
        kind = np.dtype(np.int64 if wide else np.int32)
        offsets = np.frombuffer(array.buffers()[1], kind, len(array) + 1, array.offset * kind.itemsize)
        text = array.buffers()[2]
        data = np.frombuffer(text, np.uint8) if text is not None else np.zeros(1, np.uint8)
        digits = data[offsets[0] : offsets[-1]] - np.uint8(ZERO)
        if (not len(digits) or digits.max() <= 9) and _runs_are_ids(data, offsets[:-1], np.diff(offsets)):
            return None
    return next((i for i, value in enumerate(array.to_pylist()) if value is None or id_problem(value)), 0)


def id_values(block: bytes) -> np.ndarray:
    """The IDs of a block of ID lines (one valid ID a line, as an ID file's blocks come out of
    :func:`~x_compliance.files.id_files.iter_id_blocks`) as int64, all lines at once, one digit
    position per numpy step.

    Hand-written because the apply stage of ``make bench`` shows it: pyarrow's CSV reader (slow
    on its first call in a process) and ``bytes.split`` both cost many times more.
    """
    import numpy as np

    if not block:
        return np.empty(0, np.int64)
    digits = np.frombuffer(block, np.uint8) - np.uint8(ZERO)  # "\n" becomes 218
    ends = np.flatnonzero(digits == 218)
    lengths = np.diff(ends, prepend=-1) - 1
    width = int(lengths[0])
    if (lengths == width).all():  # the usual case: every line as long, so a plain 2-D view
        rows = digits.reshape(len(ends), width + 1)
        values = rows[:, 0].astype(np.uint64)
        for column in range(1, width):
            values = values * np.uint64(10) + rows[:, column]
    else:
        values = np.zeros(len(ends), dtype=np.uint64)
        for back in range(int(lengths.max()), 0, -1):
            has = lengths >= back
            values[has] = values[has] * np.uint64(10) + digits[ends[has] - back]
    return values.astype(np.int64)  # every value was checked against BIGINT by the reader
