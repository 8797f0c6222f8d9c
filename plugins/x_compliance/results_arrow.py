"""The fast way to read a results file: pyarrow parses blocks of lines at C speed, in batches.

It only accepts what the line-by-line reader in ``results.py`` would read the same way, and
raises :class:`FastPathRefused` on anything else (a broken line, a number where X sends a
string, an odd timestamp...). The caller then reads the file again line by line: slower, but
it either reads the odd file correctly or fails naming the exact line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from x_compliance.arrow_numpy import EMPTY_TEXT, from_numpy, to_numpy
from x_compliance.ids import open_source
from x_compliance.line_blocks import iter_line_blocks
from x_compliance.seen_ids import SeenIds

RESULTS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("reason", pa.string()),
        ("action", pa.string()),
        ("created_at", pa.timestamp("ms", tz="UTC")),
        ("redacted_at", pa.timestamp("ms", tz="UTC")),
    ]
)
# Everything is read as text and checked before conversion: pyarrow would happily read a
# number as an id, or a timestamp style that ``datetime.fromisoformat`` reads differently.
_RAW_SCHEMA = pa.schema([(name, pa.string()) for name in RESULTS_SCHEMA.names])
_TIMESTAMPS = ("created_at", "redacted_at")
# The two styles X sends (``...54.667Z`` and ``...04+00:00``), only with values that
# ``fromisoformat`` accepts and that pyarrow's cast turns into the same instant.
_TIMESTAMP = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
BLOCK_BYTES = 4 << 20


class FastPathRefused(Exception):
    """This file needs the line-by-line reader (which will say what is wrong, if anything)."""


def iter_result_tables(source: Any, *, block_size: int = BLOCK_BYTES) -> Iterator[pa.Table]:
    """Yield the results in ``source`` as tables in :data:`RESULTS_SCHEMA`, the first line for
    an ID only, in file order; raise :class:`FastPathRefused` at the first thing not plainly valid.

    Streams: two blocks of lines and the IDs seen so far (8 bytes each) are in memory.
    """
    seen = SeenIds()
    for raw in _parsed_blocks(source, block_size):
        table = _converted(raw)
        first = seen.first_new(to_numpy(pc.cast(table.column("id"), pa.uint64())))
        yield table if len(first) == len(table) else table.take(from_numpy(first))


def _parsed_blocks(source: Any, block_size: int) -> Iterator[pa.Table]:
    """The raw (all text) table of each block. The next block is parsed on a second thread while
    the caller checks and writes this one: both release the GIL, so two cores share the work.
    (pyarrow's own ``use_threads`` gained less, and held about 50 MB more.)"""
    read_options = pj.ReadOptions(block_size=block_size + 1, use_threads=False)
    parse_options = pj.ParseOptions(explicit_schema=_RAW_SCHEMA, unexpected_field_behavior="ignore")

    def parse(block: bytes) -> pa.Table | None:
        lines = _object_lines(block)
        if not lines:
            return None
        raw = pj.read_json(pa.BufferReader(block), read_options=read_options, parse_options=parse_options)
        if raw.num_rows != lines:
            raise FastPathRefused("a line does not hold exactly one JSON object")
        if not block.isascii():
            raw.validate(full=True)  # pyarrow does not check UTF-8; the line reader replaces
        return raw

    with open_source(source) as fh, ThreadPoolExecutor(1, thread_name_prefix="x-compliance-json") as pool:
        ahead = None
        for block in iter_line_blocks(fh, block_size):
            parsing = pool.submit(parse, block)
            if ahead is not None and (raw := ahead.result()) is not None:
                yield raw
            ahead = parsing
        if ahead is not None and (raw := ahead.result()) is not None:
            yield raw


def count_reasons(table: pa.Table, counts: Counter[str]) -> None:
    """Add the rows per reason of ``table`` to ``counts``."""
    tally = pc.value_counts(table.column("reason"))
    reasons, rows = tally.field("values").to_pylist(), tally.field("counts").to_pylist()
    counts.update(dict(zip(reasons, rows, strict=True)))


def _object_lines(block: bytes) -> int:
    """How many lines of ``block`` are not blank, provided each starts with ``{`` and ends with
    ``}``; otherwise refuse.

    With that, and as many parsed rows as such lines, every line holds exactly one object:
    pyarrow alone would also accept two objects on a line, or one spread over lines.
    """
    count = _braced_lines(block)
    if count is None:
        # Padding around a line is fine for the line reader, which strips it.
        count = _braced_lines(block.translate(None, b" \t\r"))
    if count is None:
        raise FastPathRefused("a line does not start with '{' and end with '}'")
    return count


def _braced_lines(block: bytes) -> int | None:
    data = np.frombuffer(block, np.uint8)
    ends = np.flatnonzero(data == 10)
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    last = ends - 1
    last -= (last >= starts) & (data[np.maximum(last, 0)] == 13)  # a \r before the \n
    full = last >= starts
    if not (np.all(data[starts[full]] == 123) and np.all(data[last[full]] == 125)):
        return None
    return int(np.count_nonzero(full))


def _converted(raw: pa.Table) -> pa.Table:
    """``raw`` (all text) checked and converted to :data:`RESULTS_SCHEMA`, as the line reader would."""
    ids, reasons = raw.column("id"), raw.column("reason")
    if ids.null_count or reasons.null_count:
        raise FastPathRefused("a missing id or reason")
    id_lengths = pc.min_max(pc.binary_length(ids)).as_py()
    # Cheaper than a regex: all ASCII digits, 1 to 19 of them, no leading zero ("007" and "7"
    # are two IDs to the line reader but one number to the de-duplication below).
    if (
        not pc.all(pc.ascii_is_decimal(ids)).as_py()
        or not 1 <= id_lengths["min"] <= id_lengths["max"] <= 19
        or pc.any(pc.starts_with(ids, "0")).as_py()
    ):
        raise FastPathRefused("an id that is not 1 to 19 digits")
    if pc.min(pc.binary_length(reasons)).as_py() == 0:
        raise FastPathRefused("an empty reason")
    columns = {"id": ids, "reason": reasons, "action": pc.fill_null(raw.column("action"), EMPTY_TEXT)}
    for name in _TIMESTAMPS:
        text = raw.column(name)
        if text.null_count < len(text) and not pc.all(pc.match_substring_regex(text, _TIMESTAMP)).as_py():
            raise FastPathRefused(f"a {name} in neither of X's styles")
        columns[name] = pc.cast(text, RESULTS_SCHEMA.field(name).type)
    return pa.table(columns, schema=RESULTS_SCHEMA)
