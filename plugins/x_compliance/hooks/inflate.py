"""Decode a download's body as it streams and count the bytes each decoded piece came from, so
the download can refuse a compression bomb by its ratio.

zlib directly rather than urllib3's decoding: urllib3 counts no wire bytes of a chunked
response (how storage sends a body it compresses on the fly), and the ratio needs them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from x_compliance.exceptions import XComplianceError

# What the download asks for, and how zlib reads each: a gzip stream (any number of members one
# after another) or a zlib one, as HTTP's "deflate" is.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


class Inflater:
    """Decodes one response body: pieces of at most ``block`` bytes, whatever they inflate from.

    ``received`` is how many body bytes the pieces so far came from (all of them, uncompressed).
    """

    def __init__(self, content_encoding: str, block: int, *, what: str) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity", *_WBITS):
            raise XComplianceError(f"{what}: storage sent Content-Encoding {encoding[:40]!r}, not asked for")
        self.compressed = encoding in _WBITS
        self.received = 0
        self._wbits = _WBITS.get(encoding, 0)
        self._block = block
        self._zlib = self._member()
        self._in_member = False  # bytes of an unfinished member went in

    def _member(self) -> Any:
        """A decoder for the next gzip member (or the whole zlib stream); None for plain bytes."""
        return zlib.decompressobj(self._wbits) if self.compressed else None

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data``, the next bytes of the body."""
        if self._zlib is None:
            self.received += len(data)
            yield data
            return
        while True:
            out = self._zlib.decompress(data, self._block)
            rest = self._zlib.unused_data if self._zlib.eof else self._zlib.unconsumed_tail
            consumed = len(data) - len(rest)
            self.received += consumed
            if self._zlib.eof:  # a gzip stream may hold another member
                self._zlib, self._in_member = self._member(), False
            elif consumed:
                self._in_member = True
            data = rest
            if out:
                yield out
            # A full piece may leave output inside zlib with no input left: ask again for it.
            if not data and len(out) < self._block:
                return

    def finish(self) -> None:
        """``zlib.error`` when the body ended inside a member: it was cut short."""
        if self._in_member:
            raise zlib.error("the compressed body ended before its end")
