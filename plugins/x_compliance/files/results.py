"""The one reader of X's JSON-lines results: one object per non-compliant ID.

pyarrow's JSON reader parses each block of lines in C; the columns are then checked at C speed
(the ID rule of :mod:`x_compliance.files.ids`, a reason, timestamps in X's two styles) and
de-duplicated, the first line for an ID winning. Real files carry blank lines, duplicate lines,
``\\r\\n`` endings and a sometimes missing ``redacted_at``: all accepted. Anything else fails the
whole file with :class:`MalformedResultError` naming the file, the line and what was wrong:
when pyarrow or a check refuses a block, that block alone is read again line by line only to
find and name the first bad line (applying half a file is worse than applying none of it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from x_compliance.exceptions import MalformedResultError
from x_compliance.files.arrow import from_numpy, to_numpy
from x_compliance.files.ids import first_bad_id, id_problem
from x_compliance.files.limits import MAX_RESULT_LINE
from x_compliance.files.lines import iter_line_blocks
from x_compliance.files.seen import SeenIds
from x_compliance.files.storage_paths import open_source

# Reasons X documents. `bounced` (Posts only) was added in 2026.
KNOWN_REASONS = frozenset({"deleted", "deactivated", "protected", "suspended", "scrub_geo", "bounced"})
RESULTS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("reason", pa.string()),
        ("action", pa.string()),
        ("created_at", pa.timestamp("ms", tz="UTC")),
        ("redacted_at", pa.timestamp("ms", tz="UTC")),
    ]
)
BLOCK_BYTES = 4 << 20
# Everything is read as text and checked before conversion: pyarrow would happily read a
# number as an id, or a timestamp style that ``datetime.fromisoformat`` reads differently.
_RAW_SCHEMA = pa.schema([(name, pa.string()) for name in RESULTS_SCHEMA.names])
_TIMESTAMPS = ("created_at", "redacted_at")
# The two styles X sends (``...54.667Z`` and ``...04+00:00``), with values pyarrow's cast reads.
_TIMESTAMP = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_TIMESTAMP_RE = re.compile(_TIMESTAMP)
_EMPTY_TEXT = pa.StringArray.from_buffers(1, pa.py_buffer(bytes(8)), pa.py_buffer(b""))[0]


class _Refused(Exception):
    """A block that is not plainly valid: its lines are looked at one by one to say why."""


def iter_result_tables(
    source: Any, *, job_id: str | None = None, block_size: int = BLOCK_BYTES
) -> Iterator[pa.Table]:
    """Yield the results in ``source`` (path or ``ObjectStoragePath``) as tables in
    :data:`RESULTS_SCHEMA`, in file order, only the first line for an ID.

    Streams: two blocks of lines and the IDs seen so far (8 bytes each) are in memory.
    """
    seen = SeenIds()
    with closing(_parsed_blocks(source, block_size, job_id)) as tables:
        for table in tables:
            # pyarrow's allocator (mimalloc) keeps what a block freed; handed back, the peak
            # stays a few blocks instead of growing with the file.
            pa.default_memory_pool().release_unused()
            first = seen.first_new(to_numpy(pc.cast(table.column("id"), pa.uint64())))
            yield (table if len(first) == len(table) else table.take(from_numpy(first)))


def count_reasons(table: pa.Table, counts: Counter[str]) -> None:
    """Add the rows per reason of ``table`` to ``counts``."""
    tally = pc.value_counts(table.column("reason"))
    reasons, rows = tally.field("values").to_pylist(), tally.field("counts").to_pylist()
    counts.update(dict(zip(reasons, rows, strict=True)))


def _parsed_blocks(source: Any, block_size: int, job_id: str | None) -> Iterator[pa.Table]:
    """The checked table of each block. The next block is parsed on a second thread while the
    caller checks and writes this one: both release the GIL, so two cores share the work."""
    name = str(source)
    read_options = pj.ReadOptions(block_size=block_size + 1, use_threads=False)
    parse_options = pj.ParseOptions(explicit_schema=_RAW_SCHEMA, unexpected_field_behavior="ignore")

    def parse(block: bytes, first_line: int) -> pa.Table | None:
        try:
            lines = _object_lines(block)
            if not lines:
                return None
            raw = pj.read_json(pa.BufferReader(block), read_options=read_options, parse_options=parse_options)
            if raw.num_rows != lines:
                raise _Refused("a line does not hold exactly one JSON object")
            if not block.isascii():
                raw.validate(full=True)  # pyarrow does not check UTF-8
            return _converted(raw)
        except (_Refused, pa.ArrowException) as exc:
            raise _first_bad_line(block, first_line, name, job_id, exc) from None

    with open_source(source) as fh, ThreadPoolExecutor(1, thread_name_prefix="x-compliance-json") as pool:
        ahead = None
        blocks = iter_line_blocks(fh, block_size, max_line=MAX_RESULT_LINE, source=name, job_id=job_id)
        for block, first_line in blocks:
            parsing = pool.submit(parse, block, first_line)
            if ahead is not None and (table := ahead.result()) is not None:
                yield table
            ahead = parsing
        if ahead is not None and (table := ahead.result()) is not None:
            yield table


def _object_lines(block: bytes) -> int:
    """How many lines of ``block`` are not blank, provided each starts with ``{`` and ends with
    ``}`` (padding aside). With as many parsed rows as such lines, every line holds exactly one
    object: pyarrow alone would also accept two objects on a line, or one spread over lines."""
    count = _braced_lines(block)
    if count is None:
        count = _braced_lines(block.translate(None, b" \t\r"))
    if count is None:
        raise _Refused("a line does not start with '{' and end with '}'")
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
    """``raw`` (all text) checked and converted to :data:`RESULTS_SCHEMA`."""
    ids, reasons = raw.column("id"), raw.column("reason")
    if first_bad_id(ids) is not None:
        raise _Refused("an id that is not an ID")
    if reasons.null_count or pc.min(pc.binary_length(reasons)).as_py() == 0:
        raise _Refused("a missing reason")
    columns = {"id": ids, "reason": reasons, "action": pc.fill_null(raw.column("action"), _EMPTY_TEXT)}
    for name in _TIMESTAMPS:
        text = raw.column(name)
        if text.null_count < len(text) and not pc.all(pc.match_substring_regex(text, _TIMESTAMP)).as_py():
            raise _Refused(f"a {name} in neither of X's styles")
        columns[name] = pc.cast(text, RESULTS_SCHEMA.field(name).type)
    return pa.table(columns, schema=RESULTS_SCHEMA)


def _first_bad_line(
    block: bytes, first_line: int, name: str, job_id: str | None, refusal: Exception
) -> MalformedResultError:
    """The error naming the first line of a refused block that breaks a rule."""
    for offset, raw in enumerate(block.split(b"\n")):
        line = raw.strip()
        if line and (problem := line_problem(line)) is not None:
            text = line.decode("utf-8", "replace")
            return MalformedResultError(name, first_line + offset, text, problem, job_id=job_id)
    # Nothing a rule names (pyarrow alone refused): say so, with where the block starts.
    why = f"unreadable block starting here ({type(refusal).__name__}: {str(refusal)[:200]})"
    return MalformedResultError(name, first_line, "", why, job_id=job_id)


def line_problem(line: bytes) -> str | None:
    """What is wrong with one non-blank result line, or None when it is a result."""
    try:
        obj: Any = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8"
    except RecursionError:
        return "nested too deeply to be a result"
    except ValueError:
        return "not JSON (or more than one object on the line)"
    if not isinstance(obj, dict):
        return "not a JSON object"
    raw_id = obj.get("id")
    if not isinstance(raw_id, str):
        return "missing or invalid 'id': expected a string of digits"
    if (problem := id_problem(raw_id)) is not None:
        return f"invalid 'id': {problem}"
    reason = obj.get("reason")
    if not isinstance(reason, str) or not reason:
        return "missing 'reason'"
    if obj.get("action") is not None and not isinstance(obj["action"], str):
        return "'action' is not text"
    for key in _TIMESTAMPS:
        value = obj.get(key)
        if value is not None and not (isinstance(value, str) and _TIMESTAMP_RE.match(value)):
            return f"unreadable timestamp in '{key}'"
    return None
