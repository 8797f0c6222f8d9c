"""Transfers over X's signed storage URLs: plain and resumable uploads, resumable downloads.

The URLs are the credentials here (no bearer token is sent), so they never reach a log line
or an exception message: transport errors are re-raised without them. Every transfer streams
from and to files: memory stays flat whatever the number of IDs.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol

import requests
import tenacity
import urllib3

from x_compliance.exceptions import (
    CompressionRatioError,
    DownloadUrlExpiredError,
    ResultsTooLargeError,
    StorageError,
    TransferError,
    UploadUrlExpiredError,
    XComplianceError,
)
from x_compliance.files.limits import COMPRESSION_RATIO_FLOOR
from x_compliance.hooks.inflate import ACCEPT_ENCODING, Inflater
from x_compliance.hooks.progress import Progress
from x_compliance.hooks.responses import is_expired_token, storage_error

# Google Cloud Storage wants every resumable chunk but the last to be a multiple of 256 KiB.
RESUMABLE_QUANTUM = 256 * 1024
# Each chunk waits for storage's answer before the next goes, so fewer is faster; a chunk is read
# from the file as it is sent (and again after a drop), never held in memory.
DEFAULT_CHUNK_SIZE = 256 * RESUMABLE_QUANTUM  # 64 MiB
READ_SIZE = 1 << 20  # what one read of the file to send hands the socket
DOWNLOAD_BLOCK = 1 << 20  # what a download reads off the wire, and inflates and writes, at a time
ERROR_HEAD = 64 << 10  # what is read of an error's body
_RANGE = re.compile(r"bytes=0-(\d+)")


class Readable(Protocol):
    """What an upload reads its bytes from: a binary file, or a reader that guards one."""

    def seek(self, offset: int) -> Any: ...

    def read(self, size: int) -> bytes: ...


class _FileSlice:
    """Bytes ``start`` to ``end`` of a file as a request body, read from the file as they are
    sent, so one read's worth is in memory; every attempt reads them again. It has a length, so
    requests sends ``Content-Length`` rather than chunked encoding (signed URLs want one)."""

    def __init__(self, fh: Readable, start: int, end: int, progress: Progress) -> None:
        self._fh = fh
        self._start = start
        self._end = end
        self._progress = progress

    def __len__(self) -> int:
        return self._end - self._start

    def __iter__(self) -> Iterator[bytes]:
        self._fh.seek(self._start)
        left = len(self)
        while left:
            data = self._fh.read(min(READ_SIZE, left))
            if not data:
                raise XComplianceError(f"the file to upload ended {left:,} bytes short of its size")
            left -= len(data)
            self._progress.advance(len(data))
            yield data


class SignedUrlClient:
    """Speaks to signed storage URLs for one hook; holds no secrets beyond the call at hand."""

    def __init__(self, retry_policy: Callable[[], dict[str, Any]], timeout: float, log: logging.Logger):
        self._retry_policy = retry_policy
        self._timeout = (10.0, timeout)
        self.log = log
        self._session = requests.Session()

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
        """One request; transport errors come back as a URL-free ``ConnectionError``."""
        try:
            return self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise ConnectionError(f"{what}: connection failed ({exc.__class__.__name__})") from None

    @staticmethod
    def _raise_for(response: requests.Response, *, what: str, expired: type[StorageError]) -> None:
        # Storage's XML error is short: of a streamed answer, read no more than its head.
        head = next(response.iter_content(ERROR_HEAD), b"")
        error = storage_error(response.status_code, head, what=what)
        if is_expired_token(error):
            raise expired(str(error), status=response.status_code, code="ExpiredToken")
        raise error

    def _retrying(self, attempt: Callable[[], Any]) -> Any:
        """``attempt`` under the retry rule; a connection that keeps failing ends as a typed
        error (still retryable by the task: the next try resumes or restarts the transfer)."""
        try:
            return tenacity.Retrying(**self._retry_policy())(attempt)
        except ConnectionError as exc:
            raise TransferError(f"{exc}; gave up after the retries allowed") from None

    # -- upload -----------------------------------------------------------------------------

    def put_plain(self, url: str, fh: Readable, size: int, *, what: str, progress: Progress) -> None:
        """Send the first ``size`` bytes of ``fh`` in one streamed PUT; a dropped connection
        restarts it from the first byte (storage keeps nothing of a PUT cut short)."""

        def attempt() -> None:
            progress.restart()
            body = _FileSlice(fh, 0, size, progress)
            response = self._send("PUT", url, what=what, data=body, headers={"Content-Type": "text/plain"})
            if response.status_code not in (200, 201):
                self._raise_for(response, what=what, expired=UploadUrlExpiredError)

        self._retrying(attempt)

    def start_resumable(self, url: str, *, what: str) -> str:
        """Open a resumable session; the returned session URL is itself a credential."""

        def attempt() -> str:
            response = self._send(
                "POST",
                url,
                what=what,
                headers={"Content-Type": "text/plain", "Content-Length": "0", "x-goog-resumable": "start"},
            )
            if response.status_code != 201 or "Location" not in response.headers:
                self._raise_for(response, what=what, expired=UploadUrlExpiredError)
            return response.headers["Location"]

        return self._retrying(attempt)

    def _held(self, response: requests.Response, *, what: str) -> int | None:
        """Bytes the server holds after a 308, or None when the upload is complete."""
        if response.status_code in (200, 201):
            return None
        if response.status_code != 308:
            self._raise_for(response, what=what, expired=UploadUrlExpiredError)
        match = _RANGE.fullmatch(response.headers.get("Range", ""))
        return int(match.group(1)) + 1 if match else 0

    def resumable_status(self, session_url: str, total: int, *, what: str) -> int | None:
        """Ask the session how many bytes it holds (None: the upload is complete)."""
        headers = {"Content-Range": f"bytes */{total}", "Content-Length": "0"}
        return self._held(self._send("PUT", session_url, what=what, headers=headers), what=what)

    def put_resumable(
        self,
        session_url: str,
        fh: Readable,
        size: int,
        *,
        what: str,
        progress: Progress,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        """Send the first ``size`` bytes of ``fh`` in chunks of ``chunk_size`` bytes, each from
        where the server says it holds the upload up to, read from the file again: nothing is
        kept in memory for a resend. Storage finishes the object only with its last byte."""
        if chunk_size % RESUMABLE_QUANTUM:
            raise ValueError(f"chunk_size must be a multiple of {RESUMABLE_QUANTUM} bytes")
        held: int | None = 0
        while held is not None:
            end = min(held + chunk_size, size)
            held = self._send_chunk(session_url, fh, held, end, size, what=what, progress=progress)

    def _send_chunk(
        self,
        session_url: str,
        fh: Readable,
        start: int,
        end: int,
        size: int,
        *,
        what: str,
        progress: Progress,
    ) -> int | None:
        """PUT bytes ``start`` to ``end``; return the bytes the server then holds (None: all).

        After a dropped connection the server is asked what it holds: when that is more than
        ``start`` the caller goes on from there rather than resend the rest of this chunk, which
        keeps every chunk but the last a multiple of 256 KiB whatever the drop left behind.
        """
        tried = False  # an attempt went out and no answer came back

        def attempt() -> int | None:
            nonlocal tried
            if tried and (held := self.resumable_status(session_url, size, what=what)) != start:
                return held
            tried = True
            progress.seek(start)
            response = self._send(
                "PUT",
                session_url,
                what=what,
                data=_FileSlice(fh, start, end, progress),
                headers={"Content-Range": f"bytes {start}-{end - 1}/{size}"},
            )
            return self._held(response, what=what)

        held = self._retrying(attempt)
        if held is not None and not start < held <= end:
            raise XComplianceError(f"{what}: storage holds {held:,} bytes, expected {start + 1:,} to {end:,}")
        return held

    # -- download ---------------------------------------------------------------------------

    def download(
        self,
        url: str,
        fh: IO[bytes],
        *,
        what: str,
        progress: Progress,
        max_bytes: int,
        max_ratio: float,
        job_id: str,
    ) -> int:
        """Stream the file at ``url`` into ``fh``; resume with ``Range`` after a drop.

        ``max_bytes`` caps what is written, counted after decompression as it streams (at most
        one block is inflated at a time). Past ``COMPRESSION_RATIO_FLOOR`` bytes, a response that
        inflates more than ``max_ratio`` times the bytes it sent is refused too: a bomb of N
        bytes costs at most ``max_ratio`` times N of work, whatever the cap.
        """
        state = {"written": 0}

        def attempt() -> int:
            written = state["written"]
            # A resumed range is asked for as plain bytes: compressed offsets mean nothing.
            resume = {"Range": f"bytes={written}-", "Accept-Encoding": "identity"}
            headers = resume if written else {"Accept-Encoding": ACCEPT_ENCODING}
            response = self._send("GET", url, what=what, headers=headers, stream=True)
            with response:
                if response.status_code == 200 and written:
                    # The server ignored the Range: start over rather than duplicate lines.
                    fh.seek(0)
                    fh.truncate()
                    state["written"] = written = 0
                    progress.restart()
                elif response.status_code not in (200, 206):
                    self._raise_for(response, what=what, expired=DownloadUrlExpiredError)
                elif response.status_code == 206 and _range_start(response) != written:
                    raise XComplianceError(f"{what}: storage resumed at the wrong offset")
                body = Inflater(response.headers.get("Content-Encoding", ""), DOWNLOAD_BLOCK, what=what)
                expected = None if body.compressed else _expected_length(response, written)
                inflated = 0  # bytes this response decoded to
                try:
                    for data in response.raw.stream(DOWNLOAD_BLOCK, decode_content=False):
                        for block in body.pieces(data):
                            if state["written"] + len(block) > max_bytes:
                                raise ResultsTooLargeError(job_id, max_bytes)
                            inflated += len(block)
                            _refuse_a_bomb(job_id, inflated, body.received, max_ratio)
                            fh.write(block)
                            state["written"] += len(block)
                            progress.advance(len(block))
                    body.finish()
                except (urllib3.exceptions.HTTPError, zlib.error) as exc:
                    if body.compressed:  # compressed offsets cannot be resumed: restart cleanly
                        fh.seek(0)
                        fh.truncate()
                        state["written"] = 0
                    raise ConnectionError(f"{what}: connection dropped ({exc.__class__.__name__})") from None
                if expected is not None and state["written"] != expected:
                    raise ConnectionError(f"{what}: got {state['written']} of {expected} bytes")
            return state["written"]

        return self._retrying(attempt)


def _refuse_a_bomb(job_id: str, inflated: int, received: int, max_ratio: float) -> None:
    """``CompressionRatioError`` when ``received`` bytes of a body inflated to more than
    ``max_ratio`` times as many, beyond the floor."""
    if inflated > COMPRESSION_RATIO_FLOOR and inflated > max_ratio * received:
        raise CompressionRatioError(job_id, max_ratio, received=received, inflated=inflated)


def _expected_length(response: requests.Response, written: int) -> int | None:
    length = response.headers.get("Content-Length")
    return written + int(length) if length and length.isdigit() else None


def _range_start(response: requests.Response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None
