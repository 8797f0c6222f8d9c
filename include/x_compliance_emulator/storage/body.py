"""Stream a request body to disk in chunks, optionally skipping a prefix or cutting it short.

Shared by plain and resumable uploads: a 200 MB upload passes through in 1 MiB pieces and never
sits in memory; a drop fault stops reading after a given number of body bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from x_compliance_emulator.runtime.stats import Stats

READ_CHUNK = 1 << 20


@dataclass
class Received:
    read: int  # body bytes read from the client
    written: int  # bytes written to the file (read minus the skipped prefix)
    complete: bool  # the whole body arrived


async def receive(
    request: web.Request, out: BinaryIO | None, stats: Stats, skip: int = 0, limit: int | None = None
) -> Received:
    """Copy the body into ``out`` (or discard it when None); stop after ``limit`` bytes when given."""
    read = written = 0
    try:
        while limit is None or read < limit:
            want = READ_CHUNK if limit is None else min(READ_CHUNK, limit - read)
            chunk = await request.content.read(want)
            if not chunk:
                break
            read += len(chunk)
            stats.uploaded(len(chunk))
            if skip:
                dropped, skip = min(skip, len(chunk)), skip - min(skip, len(chunk))
                chunk = chunk[dropped:]
            if out is not None and chunk:
                out.write(chunk)
                written += len(chunk)
    except (ConnectionError, HttpProcessingError):
        # The client went away mid-body (aiohttp raises one of these): keep what arrived.
        return Received(read, written, complete=False)
    return Received(read, written, complete=request.content.at_eof())
