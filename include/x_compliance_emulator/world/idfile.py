"""Read an uploaded ID file in bounded chunks and turn each chunk of lines into a uint64 array.

X accepts one ID per line; a non-blank line that is not 1-19 digits (after stripping spaces and
``\\r``) makes the file unusable. The file is never held in memory as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHUNK_BYTES = 4 << 20
MAX_LINE_BYTES = 1 << 20
_ALLOWED = b"0123456789 \t\r\n"
_DIGITS = b"0123456789"
_NEWLINE, _CR, _ZERO, _TEN = np.uint8(10), np.uint8(13), np.uint8(48), np.uint64(10)


class InvalidIdFile(ValueError):
    def __init__(self, line_number: int, line: bytes) -> None:
        self.line_number = line_number
        shown = line[:40].decode("utf-8", "replace")
        super().__init__(f"Invalid ID on line {line_number}: {shown!r} is not a Post or user ID")


def iter_id_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[np.ndarray]:
    """Yield the IDs of ``path`` in upload order, one uint64 array per chunk of whole lines."""
    lines_before = 0
    carry = b""
    with open(path, "rb") as handle:
        while True:
            data = handle.read(chunk_bytes)
            block = carry + data
            if data:
                cut = block.rfind(b"\n") + 1
                block, carry = block[:cut], block[cut:]
            if block:
                yield _parse_block(block, lines_before)
                lines_before += block.count(b"\n")
            if len(carry) > MAX_LINE_BYTES:
                # No ID line is this long; stop before a file without newlines fills memory.
                raise InvalidIdFile(lines_before + 1, carry.strip())
            if not data:
                return


def _parse_block(block: bytes, lines_before: int) -> np.ndarray:
    uniform = _uniform_width_ids(block)
    if uniform is not None:
        return uniform
    if _needs_line_by_line(block):
        tokens = _checked_tokens(block, lines_before)
    else:
        tokens = block.split()
        if tokens and max(map(len, tokens)) > 19:
            tokens = _checked_tokens(block, lines_before)  # only to find and report the long line
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    return np.array(tokens).astype(np.uint64)


def _uniform_width_ids(block: bytes) -> np.ndarray | None:
    """Fast path for the usual file, where every line has the same number of digits: the block
    is then a 2-D byte matrix and each ID is built column by column. None when it does not apply."""
    width = block.find(b"\n") + 1
    if width < 2 or width > 21 or len(block) % width:
        return None
    rows = np.frombuffer(block, dtype=np.uint8).reshape(-1, width)
    if not (rows[:, -1] == _NEWLINE).all():
        return None
    digits = width - 1
    if rows[0, digits - 1] == _CR:
        if not (rows[:, -2] == _CR).all():
            return None
        digits -= 1
    if not 1 <= digits <= 19:
        return None
    ids = np.zeros(len(rows), dtype=np.uint64)
    for column in range(digits):
        values = rows[:, column] - _ZERO  # wraps below '0', so any non-digit byte is > 9
        if (values > 9).any():
            return None
        ids *= _TEN
        ids += values
    return ids


def _needs_line_by_line(block: bytes) -> bool:
    # The fast path (bytes.split) is only right when every line is digits plus a line ending:
    # anything else (letters, spaces or tabs that could sit inside an ID, a lone \r) gets the
    # line-by-line check, which is exact but slower.
    return bool(
        block.translate(None, _ALLOWED)
        or b" " in block
        or b"\t" in block
        or block.count(b"\r") != block.count(b"\r\n")
    )


def _checked_tokens(block: bytes, lines_before: int) -> list[bytes]:
    tokens = []
    for offset, line in enumerate(block.split(b"\n"), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if len(stripped) > 19 or stripped.translate(None, _DIGITS):
            raise InvalidIdFile(lines_before + offset, stripped)
        tokens.append(stripped)
    return tokens
