"""What an ID is, written once, and the reader of ID files built on it.

An ID (a Post or user id, or a compliance job id) is 1 to 19 ASCII digits, and since the
warehouse stores it as BIGINT, at most 9223372036854775807. ``str.isdigit`` is not the rule:
it lets Arabic-Indic and superscript digits through. Export, upload, the results reader and
apply all ask this module.

ID files come from warehouses someone else fills, with BOMs, ``\\r\\n``, padding and blank
lines, so every line is normalized; anything still not an ID is an error naming the file, line
and value. Clean blocks pass a C-speed check (``translate`` plus numpy on the newline
positions) and are sent as they are, so a 10M-ID file costs about as much as copying it.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from x_compliance.exceptions import IdFileChangedError, InvalidIdError
from x_compliance.files.limits import MAX_ID_LINE
from x_compliance.files.lines import iter_line_blocks

if TYPE_CHECKING:
    import pyarrow as pa

MAX_DIGITS = 19
MAX_BIGINT = 2**63 - 1
_MAX_TEXT = str(MAX_BIGINT)
_NINE = ord("9")
_ID = re.compile(rb"[0-9]{1,19}")
BLOCK_SIZE = 4 << 20
_DIGITS = b"0123456789"
_DIGITS_AND_NEWLINES = _DIGITS + b"\n"
_STRIP = b" \t\r\x0b\x0c"
_BOM = b"\xef\xbb\xbf"


def id_problem(text: str | bytes) -> str | None:
    """Why ``text`` is not an ID, or None when it is one."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    if not raw.isdigit():  # bytes.isdigit is ASCII-only, unlike str.isdigit
        return "only ASCII digits 0-9 are allowed" if not raw.isascii() else "expected 1 to 19 ASCII digits"
    if len(raw) > MAX_DIGITS:
        return f"more than {MAX_DIGITS} digits"
    if len(raw) == MAX_DIGITS and raw > _MAX_TEXT.encode():
        return f"above {MAX_BIGINT}, the largest BIGINT"
    return None


def first_bad_id(ids: pa.Array | pa.ChunkedArray) -> int | None:
    """Position of the first value of a text column that is not an ID (nulls included), or None.

    The rule of :func:`id_problem` at C speed: ASCII digits, 1 to 19 of them, and 19-digit
    values compared as text with the BIGINT maximum. (Scalars are built from buffers: a Python
    value in a compute call makes pyarrow import pandas, 0.3 s.)
    """
    import pyarrow.compute as pc

    lengths = pc.binary_length(ids)
    bounds = pc.min_max(lengths).as_py()
    good = (
        not ids.null_count
        and pc.all(pc.ascii_is_decimal(ids)).as_py()
        and (bounds["min"] is None or 1 <= bounds["min"] <= bounds["max"] <= MAX_DIGITS)
    )
    if good and bounds["max"] == MAX_DIGITS:
        longest = pc.equal(lengths, _arrow_scalars()[0])
        good = not pc.any(pc.and_(longest, pc.greater(ids, _arrow_scalars()[1]))).as_py()
    if good:
        return None
    return next((i for i, value in enumerate(ids.to_pylist()) if value is None or id_problem(value)), 0)


@lru_cache(maxsize=1)
def _arrow_scalars() -> tuple[Any, Any]:
    """19 (int32) and the BIGINT maximum (text) as pyarrow scalars, made without pandas."""
    import pyarrow as pa

    nineteen = pa.Array.from_buffers(pa.int32(), 1, [None, pa.py_buffer(np.array([MAX_DIGITS], np.int32))])
    offsets = pa.py_buffer(np.array([0, MAX_DIGITS], np.int32))
    maximum = pa.StringArray.from_buffers(1, offsets, pa.py_buffer(_MAX_TEXT.encode()))
    return nineteen[0], maximum[0]


def _as_path(source: Any) -> Any:
    """``source`` as something with ``open`` and ``stat``: itself when it has them, a
    ``pathlib.Path`` for a plain local path (no ``scheme://``), else an ``ObjectStoragePath``.

    Importing ``ObjectStoragePath`` (fsspec, universal-pathlib) costs 0.25 s, the third of a
    10M-ID upload (``make bench``), so a local path never does.
    """
    if hasattr(source, "open"):
        return source
    text = os.fspath(source) if isinstance(source, PathLike) else source
    if isinstance(text, str) and "://" not in text:
        return Path(text)
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(text)


def open_source(source: Any, mode: str = "rb") -> IO[bytes]:
    """Open a path string, ``pathlib.Path`` or ``ObjectStoragePath`` (s3://, gs://, file://)."""
    return _as_path(source).open(mode)


def source_size(source: Any) -> int:
    """The size in bytes of what :func:`open_source` reads."""
    return _as_path(source).stat().st_size


def source_name(source: Any) -> str:
    return str(source)


@dataclass(frozen=True)
class IdFileStats:
    """What validation found: how many IDs and how many bytes X will receive.

    ``blocks`` is set when the file is already clean as it stands (the usual exported file):
    ``(bytes, ids, crc32)`` of each block validation read, so :func:`iter_verified_blocks` can
    send the file as it is and prove each block is still the one validated.
    """

    ids: int
    upload_bytes: int
    source_bytes: int
    blocks: tuple[tuple[int, int, int], ...] | None = None


def _normalize_block(
    block: bytes, name: str, first_line: int, job_id: str | None, outcome: str
) -> tuple[bytes, int]:
    """Normalize one block of whole lines; return the bytes to send and the ID count."""
    out = []
    for offset, raw in enumerate(block.split(b"\n")[:-1]):
        line = raw.strip(_STRIP)
        if line.startswith(_BOM):
            line = line[len(_BOM) :].strip(_STRIP)
        if not line:
            continue
        if (problem := id_problem(line)) is not None:
            value = raw.decode("utf-8", "replace").rstrip("\r")
            raise InvalidIdError(
                name, first_line + offset, value, job_id=job_id, reason=problem, outcome=outcome
            )
        out.append(line)
    if not out:
        return b"", 0
    return b"\n".join(out) + b"\n", len(out)


def iter_id_blocks(
    source: Any,
    *,
    block_size: int = BLOCK_SIZE,
    job_id: str | None = None,
    outcome: str = "nothing was uploaded",
) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(normalized_bytes, ids_in_block, source_bytes_consumed)`` for the whole file.

    Streams: at most one block (plus one partial line) is in memory at a time; a line longer
    than :data:`MAX_ID_LINE` raises ``LineTooLongError`` as soon as it is seen.
    """
    name = source_name(source)
    with open_source(source) as fh:
        blocks = iter_line_blocks(
            fh, block_size, max_line=MAX_ID_LINE, source=name, job_id=job_id, vouch=_clean_lines
        )
        with closing(blocks):  # its read-ahead thread stops here, not when collected
            for block, line, count in blocks:
                if count is not None:  # every line already an ID: sent as it is
                    yield block, count, len(block)
                    continue
                whole = block if block.endswith(b"\n") else block + b"\n"
                count = _clean_lines(whole)
                if count is None:
                    normalized, count = _normalize_block(whole, name, line, job_id, outcome)
                else:
                    normalized = whole
                yield normalized, count, len(block)


def _clean_lines(block: bytes) -> int | None:
    """The number of lines when every line of ``block`` (whole lines) is already an ID, else None.

    The usual file (every ID as long) costs one ``translate`` and two strided looks: newlines
    every ``width`` bytes, and whatever ``translate`` leaves once the digits are gone is exactly
    those newlines (the old test, digits-and-newlines gone plus a count of newlines, made three
    passes over the block).
    """
    width = block.find(b"\n") + 1
    if width < 2:
        return None  # an empty first line
    data = np.frombuffer(block, np.uint8)
    count = len(block) // width
    if (
        width <= MAX_DIGITS + 1
        and count * width == len(block)
        and (data[width - 1 :: width] == 10).all()
        and len(block.translate(None, _DIGITS)) == count
    ):
        # Every ID as long, a newline every `width` bytes and nothing else: rows are a plain view.
        longest = data.reshape(count, width)[:, :MAX_DIGITS] if width == MAX_DIGITS + 1 else None
    else:
        if block.translate(None, _DIGITS_AND_NEWLINES):
            return None  # something other than digits and newlines: let the normalizer look
        ends = np.flatnonzero(data == 10)
        lengths = np.diff(ends, prepend=-1)
        if lengths.min() < 2 or lengths.max() > MAX_DIGITS + 1:
            return None
        count = len(ends)
        starts = ends[lengths == MAX_DIGITS + 1] - MAX_DIGITS
        longest = data[starts[:, None] + np.arange(MAX_DIGITS)] if len(starts) else None
    if longest is None:
        return count
    longest = longest[longest[:, 0] == _NINE]  # below 9000000000000000000 every 19-digit ID fits
    if not len(longest):
        return count
    past = np.ascontiguousarray(longest).view(f"S{MAX_DIGITS}") > _MAX_TEXT.encode()  # compared as text
    return None if past.any() else count  # past BIGINT: the normalizer names the line


def id_values(normalized: bytes) -> np.ndarray:
    """The IDs of a normalized block (one valid ID a line, as :func:`iter_id_blocks` yields) as
    int64, all lines at once, one digit position per numpy step.

    Hand-written because ``make bench`` shows it: pyarrow's CSV reader costs 0.8 s on its first
    call in a process (the apply stage makes one pass) and ``split`` 0.18 s per 1M IDs; this
    costs a few hundredths.
    """
    if not normalized:
        return np.empty(0, np.int64)
    digits = np.frombuffer(normalized, np.uint8) - np.uint8(48)  # "\n" becomes 218
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


def validate_ids(source: Any, *, job_id: str | None = None) -> IdFileStats:
    """Read the whole file once, before anything is sent; raise :class:`InvalidIdError` on a bad line.

    While every block is clean as it stands, its CRC-32 is taken on a second thread (``crc32``
    lets go of the GIL; 0.04 s for 200 MB) for :func:`iter_verified_blocks`.
    """
    ids = upload_bytes = source_bytes = 0
    blocks: list[tuple[int, int, Future[int]]] | None = []
    with (
        ThreadPoolExecutor(1, thread_name_prefix="x-compliance-crc") as pool,
        closing(iter_id_blocks(source, job_id=job_id)) as read,
    ):
        for normalized, count, consumed in read:
            ids += count
            upload_bytes += len(normalized)
            source_bytes += consumed
            if blocks is not None and len(normalized) == consumed:  # normalizing only removes
                if blocks:
                    blocks[-1][2].result()  # at most two blocks held for their sums
                blocks.append((consumed, count, pool.submit(zlib.crc32, normalized)))
            else:
                blocks = None
    sums = None if blocks is None else tuple((n, c, crc.result()) for n, c, crc in blocks)
    return IdFileStats(ids=ids, upload_bytes=upload_bytes, source_bytes=source_bytes, blocks=sums)


def iter_verified_blocks(
    source: Any, stats: IdFileStats, *, job_id: str | None = None
) -> Iterator[tuple[bytes, int]]:
    """Yield ``(bytes, ids)`` of a file :func:`validate_ids` found clean, block by block as it read
    them, without checking the lines again: each block's CRC-32 must match the one validation
    took, else :class:`IdFileChangedError` before that block is yielded (a read and a CRC cost
    about a quarter of the checks; ``make bench``, 10M IDs). A file with anything to normalize goes
    through :func:`iter_id_blocks` again instead.
    """
    if stats.blocks is None:
        with closing(iter_id_blocks(source, job_id=job_id)) as read:
            for normalized, count, _ in read:
                yield normalized, count
        return
    name = source_name(source)
    offset = 0
    with open_source(source) as fh:
        for size, count, crc in stats.blocks:
            data = _read_exactly(fh, size)
            if len(data) != size or zlib.crc32(data) != crc:
                raise IdFileChangedError(name, offset, job_id=job_id)
            offset += size
            yield data, count
        if fh.read(1):
            raise IdFileChangedError(name, offset, job_id=job_id)


def _read_exactly(fh: IO[bytes], size: int) -> bytes:
    data = fh.read(size)
    while len(data) < size and (more := fh.read(size - len(data))):
        data += more
    return data


class NotAsItStands(Exception):
    """A block of an ID file would be sent other than as it stands (a BOM, ``\\r\\n``, padding,
    blank lines, no final newline): its upload's size is not the file's, so the caller
    validates the whole file first instead. A signal between this module and the hook."""


UNFINISHED = "the upload stopped there unfinished, so X has none of the file"


def iter_checked_blocks(
    source: Any, size: int, *, block_size: int = BLOCK_SIZE, job_id: str | None = None
) -> Iterator[tuple[bytes, int]]:
    """Yield ``(bytes, ids)`` of ``source`` read once, every block checked before it is yielded,
    for a transfer that declared ``size`` bytes (the file's) before the first was read.

    For an upload that X keeps nothing of until its last byte (a resumable one): a bad line
    raises :class:`InvalidIdError` and a file that is not ``size`` bytes long
    :class:`IdFileChangedError`, both before the block at fault is yielded, so the last byte is
    never sent (the last block waits until the file is known to end there). A block that is
    not sent as it stands raises :class:`NotAsItStands`.
    """
    name = source_name(source)
    sent = 0
    with closing(iter_id_blocks(source, block_size=block_size, job_id=job_id, outcome=UNFINISHED)) as blocks:
        for data, count, consumed in blocks:
            if len(data) != consumed:
                raise NotAsItStands(name)
            sent += consumed
            if sent > size or (sent == size and next(blocks, None) is not None):
                raise IdFileChangedError(name, min(sent, size), job_id=job_id)
            yield data, count
    if sent != size:
        raise IdFileChangedError(name, sent, job_id=job_id)
