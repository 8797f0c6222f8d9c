"""Download: ``GET <download_url>`` streams the results file from disk, whole or by byte range.

Range requests (``bytes=a-``, ``bytes=a-b``, ``bytes=-n``) answer 206 so a client can resume a
dropped download; gzip on the wire is optional (config) and never combined with a range.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from x_compliance_emulator.jobs.job import COMPLETE, Job
from x_compliance_emulator.runtime.emulator import Emulator
from x_compliance_emulator.runtime.faults import Fault
from x_compliance_emulator.runtime.wire import drop_connection, expect_drop, http_date
from x_compliance_emulator.storage import responses as gcs_responses

SEND_CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


async def download(
    request: web.Request, emulator: Emulator, job: Job, drop: Fault | None, now: float
) -> web.StreamResponse:
    if job.status(now) != COMPLETE:
        return _dated(gcs_responses.no_such_key(), now)
    path = job.results_path
    size = path.stat().st_size
    range_header = request.headers.get("Range")
    span = _parse_range(range_header, size) if range_header else (0, size - 1)
    if span is None:
        return _dated(gcs_responses.invalid_range(size), now)
    first, last = span
    gzip = (
        emulator.config.gzip_downloads
        and not range_header
        and "gzip" in request.headers.get("Accept-Encoding", "")
    )
    response = web.StreamResponse(status=206 if range_header else 200)
    response.headers.update(
        {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": f'"{job.id}-{size}"',
            "Date": http_date(now),
        }
    )
    if range_header:
        response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    if gzip:
        response.headers["Content-Encoding"] = "gzip"
    else:
        response.content_length = last - first + 1
    if drop is not None:
        expect_drop(request)
    await response.prepare(request)
    await _send(response, _body(path, first, last, gzip), drop.after_bytes if drop else None, emulator)
    if drop is not None:
        return drop_connection(request)
    await response.write_eof()
    return response


async def _body(path: Path, first: int, last: int, gzip: bool) -> AsyncIterator[bytes]:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31) if gzip else None
    loop = asyncio.get_running_loop()
    with open(path, "rb") as handle:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            data = handle.read(min(SEND_CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            # Compression runs off the event loop: a large file would stall every other request.
            yield await loop.run_in_executor(None, compressor.compress, data) if compressor else data
    if compressor:
        yield compressor.flush()


async def _send(
    response: web.StreamResponse, body: AsyncIterator[bytes], budget: int | None, emulator: Emulator
) -> None:
    """Write the body; with a ``budget`` (drop fault), stop once that many bytes went out."""
    sent = 0
    async for payload in body:
        piece = payload if budget is None else payload[: budget - sent]
        if piece:
            # Counted before the write: the client may read the last bytes and ask for stats
            # before this coroutine resumes after the write.
            emulator.counters.downloaded(len(piece))
            sent += len(piece)
            await response.write(piece)
        if budget is not None and sent >= budget:
            return


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    match = _RANGE.match(header.strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    start_text, end_text = match.groups()
    if not start_text:  # bytes=-n: the last n bytes
        length = int(end_text)
        return (max(size - length, 0), size - 1) if length and size else None
    first = int(start_text)
    last = min(int(end_text), size - 1) if end_text else size - 1
    if first >= size or last < first:
        return None
    return first, last


def _dated(response: web.Response, now: float) -> web.Response:
    response.headers["Date"] = http_date(now)
    return response
