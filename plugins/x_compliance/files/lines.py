"""Cut a binary stream into blocks of whole lines, each line at most ``max_line`` bytes.

Kept hand-written because nothing in pyarrow, pandas or numpy does all three things the ID and
results readers need at once: blocks of whole lines (so C-speed code can work a block at a
time), the number of the first line of each block (so an error can name its line), and a cap
on line length found in linear time (a 2 GiB line is refused after ``max_line`` bytes, never
read whole or re-concatenated). pyarrow's own JSON chunker gives none of the line numbers and
fails on a long line only after buffering it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import numpy as np

from x_compliance.exceptions import LineTooLongError

NEWLINE = 10


def iter_line_blocks(
    fh: IO[bytes], block_size: int, *, max_line: int, source: str, job_id: str | None = None
) -> Iterator[tuple[bytes, int]]:
    """Yield ``(block, number of its first line)``; each block ends with ``\\n`` except a last
    line without one. Raises :class:`LineTooLongError` at the first line past ``max_line``.

    Memory is one block plus one partial line (itself at most ``max_line``).
    """
    carry = b""
    line = 1
    size = block_size
    # Each read is short by the carry, so when lines are all as long (an exported ID file) carry
    # plus read ends on a line: later blocks need neither the carry joined on nor the tail cut
    # off, two copies of every block.
    while data := fh.read(size - len(carry) if len(carry) < size // 2 else size):
        if carry:
            data = carry + data
        cut = data.rfind(b"\n") + 1
        block, carry = (data, b"") if cut == len(data) else (data[:cut], data[cut:])
        if line == 1 and block and len(block) % (width := block.find(b"\n") + 1) == 0:
            size = max(block_size // width, 1) * width  # whole lines per read from now on
        if block:
            count = _checked_lines(block, line, max_line, source, job_id)
            yield block, line
            line += count
        if len(carry) > max_line:
            raise LineTooLongError(source, line, max_line, job_id=job_id)
    if carry:
        yield carry, line


def _checked_lines(block: bytes, first_line: int, max_line: int, source: str, job_id: str | None) -> int:
    """The number of lines in ``block`` (whole lines), after checking none is past ``max_line``."""
    data = np.frombuffer(block, np.uint8)
    width = block.find(b"\n") + 1
    newlines = data == NEWLINE
    count = len(block) // width
    uniform = width <= max_line + 1 and count * width == len(block) and newlines[width - 1 :: width].all()
    if uniform and np.count_nonzero(newlines) == count:
        return count  # every line as long (an exported ID file): no lengths to work out
    ends = np.flatnonzero(newlines)  # one pass: the count and every line's length
    lengths = np.diff(ends, prepend=-1)
    if lengths.max() > max_line + 1:  # the newline is not part of the line
        at = first_line + int(np.argmax(lengths > max_line + 1))
        raise LineTooLongError(source, at, max_line, job_id=job_id)
    return len(ends)
