"""Cut a binary stream into blocks of whole lines, each line at most ``max_line`` bytes.

Kept hand-written because nothing in pyarrow, pandas or numpy does all three things the ID and
results readers need at once: blocks of whole lines (so C-speed code can work a block at a
time), the number of the first line of each block (so an error can name its line), and a cap
on line length found in linear time (a 2 GiB line is refused after ``max_line`` bytes, never
read whole or re-concatenated). pyarrow's own JSON chunker gives none of the line numbers and
fails on a long line only after buffering it.

The reader's read-ahead thread lives as long as its generator, so whoever iterates one closes
it (``contextlib.closing``): the thread is then joined there, never by the garbage collector
wherever a collection happens to run (one inside ``threading``'s own lock deadlocks on it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO

import numpy as np

from x_compliance.exceptions import LineTooLongError

NEWLINE = 10


def iter_line_blocks(
    fh: IO[bytes],
    block_size: int,
    *,
    max_line: int,
    source: str,
    job_id: str | None = None,
    vouch: Callable[[bytes], int | None] | None = None,
) -> Iterator[tuple[bytes, int, int | None]]:
    """Yield ``(block, number of its first line, vouched)``; each block ends with ``\\n`` except
    a last line without one. Raises :class:`LineTooLongError` at the first line past ``max_line``.

    ``vouch(block)``, when given, is asked first: a line count it returns stands for proof that
    no line is past ``max_line`` (the ID reader's clean-block test, one pass where counting and
    measuring lines here takes three) and comes back as ``vouched``; otherwise ``vouched`` is
    None and the lines were counted and measured here. Memory is one block plus one partial
    line (itself at most ``max_line``).
    """
    carry = b""
    line = 1
    size = block_size
    # The next read runs on a second thread while this block is checked (a read lets go of the
    # GIL): about a third of an ID file's validation pass. The pool's exit waits for it, so the
    # file is never closed under a read.
    with ThreadPoolExecutor(1, thread_name_prefix="x-compliance-read") as pool:
        reading = pool.submit(fh.read, size)
        while data := reading.result():
            if carry:
                data = carry + data
            cut = data.rfind(b"\n") + 1
            block, carry = (data, b"") if cut == len(data) else (data[:cut], data[cut:])
            if line == 1 and block and len(block) % (width := block.find(b"\n") + 1) == 0:
                # Lines that look all as long (an exported ID file): read whole lines from now on.
                size = max(block_size // width, 1) * width
            # Each read is short by the carry, so carry plus read ends on a line and later blocks
            # need neither the carry joined on nor the tail cut off (two copies of every block).
            reading = pool.submit(fh.read, size - len(carry) if len(carry) < size // 2 else size)
            if block:
                vouched = vouch(block) if vouch is not None else None
                if vouched is None:
                    count = _checked_lines(block, line, max_line, source, job_id)
                yield block, line, vouched
                line += count if vouched is None else vouched
            if len(carry) > max_line:
                raise LineTooLongError(source, line, max_line, job_id=job_id)
    if carry:
        yield carry, line, None


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
