"""Cut a binary stream into blocks of whole lines, so C-speed code can work a block at a time.

Shared by the ID reader, the results parser and the apply step's upload check: each reads a
file far larger than memory, and each needs to know where a line ends before it looks at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO


def iter_line_blocks(fh: IO[bytes], block_size: int) -> Iterator[bytes]:
    """Yield blocks that each end with ``\\n``, except a last line without one.

    Memory is one block plus one partial line. A line longer than ``block_size`` is carried
    into the next read rather than cut, so a block never holds a piece of a line.
    """
    carry = b""
    while data := fh.read(block_size):
        if carry:
            data = carry + data
        cut = data.rfind(b"\n") + 1
        if cut == len(data):
            carry = b""
            yield data
        else:
            carry = data[cut:]
            if cut:
                yield data[:cut]
    if carry:
        yield carry
