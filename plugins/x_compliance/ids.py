"""Read an ID file (local path or any ``ObjectStoragePath``) as validated, normalized chunks.

X wants one ID per line. Users hand us files with BOMs, ``\\r\\n``, padding and blank lines, so
every line is normalized; anything that is still not 1 to 19 digits is an error naming the file,
line and value. Clean blocks pass a C-speed check (``translate`` plus numpy on the newline
positions) and are sent as they are, so a 10M-ID file costs about as much as copying it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from typing import IO, Any

import numpy as np

from x_compliance.exceptions import InvalidIdError

BLOCK_SIZE = 4 << 20
_DIGITS_AND_NEWLINES = b"0123456789\n"
_ID = re.compile(rb"[0-9]{1,19}")
_STRIP = b" \t\r\x0b\x0c"
_BOM = b"\xef\xbb\xbf"

IdSource = "str | PathLike[str] | Any"  # a path string, pathlib path or ObjectStoragePath


def open_source(source: Any, mode: str = "rb") -> IO[bytes]:
    """Open a path string, ``pathlib.Path`` or ``ObjectStoragePath`` (s3://, gs://, file://)."""
    if hasattr(source, "open"):
        return source.open(mode)
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(str(source) if isinstance(source, PathLike) else source).open(mode)


def source_name(source: Any) -> str:
    return str(source)


@dataclass(frozen=True)
class IdFileStats:
    """What validation found: how many IDs and how many bytes X will receive."""

    ids: int
    upload_bytes: int
    source_bytes: int


def _normalize_block(block: bytes, name: str, first_line: int, job_id: str | None) -> tuple[bytes, int]:
    """Normalize one block of whole lines; return the bytes to send and the ID count."""
    out = []
    for offset, raw in enumerate(block.split(b"\n")[:-1]):
        line = raw.strip(_STRIP)
        if line.startswith(_BOM):
            line = line[len(_BOM) :].strip(_STRIP)
        if not line:
            continue
        if not _ID.fullmatch(line):
            value = raw.decode("utf-8", "replace").rstrip("\r")
            raise InvalidIdError(name, first_line + offset, value, job_id=job_id)
        out.append(line)
    if not out:
        return b"", 0
    return b"\n".join(out) + b"\n", len(out)


def iter_id_blocks(
    source: Any, *, block_size: int = BLOCK_SIZE, job_id: str | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(normalized_bytes, ids_in_block, source_bytes_consumed)`` for the whole file.

    Streams: at most one block (plus one partial line) is in memory at a time.
    """
    name = source_name(source)
    line_number = 1
    with open_source(source) as fh:
        carry = b""
        while True:
            data = fh.read(block_size)
            if not data:
                break
            data = carry + data
            cut = data.rfind(b"\n") + 1
            block, carry = data[:cut], data[cut:]
            if not block:
                continue
            normalized, count, lines = _checked(block, name, line_number, job_id)
            yield normalized, count, len(block)
            line_number += lines
        if carry:
            normalized, count = _normalize_block(carry + b"\n", name, line_number, job_id)
            yield normalized, count, len(carry)


def _checked(block: bytes, name: str, line_number: int, job_id: str | None) -> tuple[bytes, int, int]:
    """``(bytes to send, IDs, lines)`` for a block of whole lines."""
    lines = _clean_lines(block)
    if lines is not None:
        return block, lines, lines
    normalized, count = _normalize_block(block, name, line_number, job_id)
    return normalized, count, block.count(b"\n")


def _clean_lines(block: bytes) -> int | None:
    """The number of lines when every line of ``block`` is already 1 to 19 digits, else None."""
    if block.translate(None, _DIGITS_AND_NEWLINES):
        return None  # something other than digits and newlines: let the normalizer look
    width = block.find(b"\n") + 1
    if width < 2:
        return None  # an empty first line
    data = np.frombuffer(block, np.uint8)
    if len(block) % width == 0 and width <= 20 and (data[width - 1 :: width] == 10).all():
        return len(block) // width  # the usual case: every ID as long, a newline every `width`
    ends = np.flatnonzero(data == 10)
    lengths = np.diff(ends, prepend=-1)
    if lengths.min() < 2 or lengths.max() > 20:
        return None
    return len(ends)


def validate_ids(source: Any, *, job_id: str | None = None) -> IdFileStats:
    """Read the whole file once, before anything is sent; raise :class:`InvalidIdError` on a bad line."""
    ids = upload_bytes = source_bytes = 0
    for normalized, count, consumed in iter_id_blocks(source, job_id=job_id):
        ids += count
        upload_bytes += len(normalized)
        source_bytes += consumed
    return IdFileStats(ids=ids, upload_bytes=upload_bytes, source_bytes=source_bytes)
