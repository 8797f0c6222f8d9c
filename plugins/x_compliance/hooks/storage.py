"""Transfers over X's signed storage URLs: plain and resumable uploads, resumable downloads.

The URLs are the credentials here (no bearer token is sent), so they never reach a log line
or an exception message: transport errors are re-raised without them. Every transfer streams
from and to files: memory stays flat whatever the number of IDs.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import closing
from typing import IO, Any, TypeVar

import requests
import tenacity

from x_compliance.exceptions import (
    DownloadUrlExpiredError,
    ResultsTooLargeError,
    StorageError,
    TransferError,
    UploadUrlExpiredError,
    XComplianceError,
)
from x_compliance.hooks.progress import Progress
from x_compliance.hooks.responses import is_expired_token, storage_error

# Google Cloud Storage wants every resumable chunk but the last to be a multiple of 256 KiB.
RESUMABLE_QUANTUM = 256 * 1024
DEFAULT_CHUNK_SIZE = 64 * RESUMABLE_QUANTUM  # 16 MiB: few requests, bounded memory
DOWNLOAD_BLOCK = 1 << 20
_RANGE = re.compile(r"bytes=0-(\d+)")
T = TypeVar("T")


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """Yield ``items`` while the next one is made on a second thread.

    For an upload the next block is read and checked while this one goes out (``sendall`` lets
    go of the GIL): the send pass then costs the slower of the two, not their sum (a 10M-ID
    upload_ids, profiled: 0.55 -> 0.38 s). One block is made ahead, so memory grows by one
    block. When the caller stops early the block in the making is finished, then ``items`` is
    closed on this thread.
    """
    done = object()
    with ThreadPoolExecutor(1, thread_name_prefix="x-compliance-ahead") as pool:
        making = pool.submit(next, items, done)
        try:
            while (item := making.result()) is not done:
                making = pool.submit(next, items, done)
                yield item
        finally:
            wait([making])
            close = getattr(items, "close", None)
            if close is not None:
                close()


class _SizedBody:
    """An iterable request body with a known length, so requests sends Content-Length
    instead of chunked transfer encoding (signed-URL uploads want a length)."""

    def __init__(self, blocks: Iterator[bytes | memoryview], length: int) -> None:
        self._blocks = blocks
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes | memoryview]:
        return self._blocks


class _ByteQueue:
    """The bytes of ``blocks`` handed out as views of at most a given size, with a way to
    hand some back (the part of a chunk the server did not keep); ``ids`` counts the IDs of
    the blocks taken so far."""

    def __init__(self, blocks: Iterator[tuple[bytes, int]]) -> None:
        self._blocks = blocks
        self._front: deque[memoryview] = deque()
        self.ids = 0

    def take(self, limit: int) -> memoryview | None:
        """The next at most ``limit`` bytes, or None at the end."""
        if self._front:
            piece = self._front.popleft()
        else:
            data = next(self._blocks, None)
            if data is None:
                return None
            self.ids += data[1]
            piece = memoryview(data[0])
        if len(piece) > limit:
            self._front.appendleft(piece[limit:])
            piece = piece[:limit]
        return piece

    def put_back(self, pieces: list[memoryview]) -> None:
        self._front.extendleft(reversed(pieces))


class _Chunk:
    """The next ``length`` bytes of a ``_ByteQueue``, pulled while they are sent and kept until
    the server confirms them: a retry sends the same bytes again, from memory."""

    def __init__(self, source: _ByteQueue, length: int) -> None:
        self.source = source
        self.length = length
        self.pieces: list[memoryview] = []
        self.pulled = 0

    def body(self, progress: Progress) -> _SizedBody:
        return _SizedBody(self._stream(progress), self.length)

    def _stream(self, progress: Progress) -> Iterator[memoryview]:
        for piece in list(self.pieces):  # what an earlier attempt pulled
            progress.advance(len(piece))
            yield piece
        while self.pulled < self.length:
            piece = self.source.take(self.length - self.pulled)
            if piece is None:
                raise XComplianceError(
                    f"the upload ended {self.length - self.pulled} bytes short of its size"
                )
            self.pieces.append(piece)
            self.pulled += len(piece)
            progress.advance(len(piece))
            yield piece

    def after(self, skip: int) -> list[memoryview]:
        """The pulled pieces without their first ``skip`` bytes."""
        rest = []
        for piece in self.pieces:
            if skip >= len(piece):
                skip -= len(piece)
                continue
            rest.append(piece[skip:])
            skip = 0
        return rest


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
        error = storage_error(response.status_code, response.content, what=what)
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

    def put_plain(
        self,
        url: str,
        blocks: Callable[[], Iterator[tuple[bytes, int]]],
        length: int,
        *,
        what: str,
        progress: Progress,
    ) -> None:
        """One streamed PUT; a dropped connection restarts it from the first byte."""

        def attempt() -> None:
            progress.restart()

            def body(source: Iterator[tuple[bytes, int]]) -> Iterator[bytes]:
                for data, ids in source:
                    progress.advance(len(data), ids)
                    yield data

            with closing(blocks()) as source:  # a dropped attempt's reader stops here
                data = _SizedBody(body(source), length)
                headers = {"Content-Type": "text/plain"}
                response = self._send("PUT", url, what=what, data=data, headers=headers)
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

    def _persisted(self, response: requests.Response, *, what: str) -> int | None:
        """Bytes the server holds after a 308, or None when the upload is complete."""
        if response.status_code in (200, 201):
            return None
        if response.status_code != 308:
            self._raise_for(response, what=what, expired=UploadUrlExpiredError)
        match = _RANGE.fullmatch(response.headers.get("Range", ""))
        return int(match.group(1)) + 1 if match else 0

    def resumable_status(self, session_url: str, total: int, *, what: str) -> int | None:
        response = self._send(
            "PUT",
            session_url,
            what=what,
            headers={"Content-Range": f"bytes */{total}", "Content-Length": "0"},
        )
        return self._persisted(response, what=what)

    def put_resumable(
        self,
        session_url: str,
        blocks: Iterator[tuple[bytes, int]],
        total: int,
        *,
        what: str,
        progress: Progress,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> int:
        """Send ``blocks`` in chunks; after a drop, ask what arrived and go on from there.
        Returns the number of IDs sent.

        Each chunk streams like a plain PUT (the next block is checked while this one goes
        out) from views into the blocks, copying nothing; its bytes are kept until the
        server confirms them, so memory holds about one chunk.
        """
        if chunk_size % RESUMABLE_QUANTUM:
            raise ValueError(f"chunk_size must be a multiple of {RESUMABLE_QUANTUM} bytes")
        source = _ByteQueue(blocks)
        offset = 0  # bytes the server has confirmed
        while True:
            chunk = _Chunk(source, min(chunk_size, total - offset))
            persisted = self._send_chunk(session_url, chunk, offset, total, what=what, progress=progress)
            if persisted is None:
                progress.seek(total, source.ids)
                return source.ids
            if persisted < offset or persisted > offset + chunk.pulled:
                raise XComplianceError(f"{what}: storage reports {persisted} bytes, expected {offset}+")
            source.put_back(chunk.after(persisted - offset))
            offset = persisted
            progress.seek(offset)

    def _send_chunk(
        self, session_url: str, chunk: _Chunk, offset: int, total: int, *, what: str, progress: Progress
    ) -> int | None:
        """PUT one chunk at ``offset``; return the bytes the server then holds (None: complete).

        After a drop the server is asked what it holds. If that is more than ``offset`` the
        caller builds the next chunk from there: resending the tail of this chunk could break
        the rule that every chunk but the last is a multiple of 256 KiB.
        """
        resync = False

        def attempt() -> int | None:
            nonlocal resync
            if resync:
                held = self.resumable_status(session_url, total, what=what)
                if held is None or held != offset:
                    return held
            resync = True
            progress.seek(offset)
            end = offset + chunk.length - 1
            response = self._send(
                "PUT",
                session_url,
                what=what,
                data=chunk.body(progress),
                headers={"Content-Range": f"bytes {offset}-{end}/{total}"},
            )
            return self._persisted(response, what=what)

        return self._retrying(attempt)

    # -- download ---------------------------------------------------------------------------

    def download(
        self, url: str, fh: IO[bytes], *, what: str, progress: Progress, max_bytes: int, job_id: str
    ) -> int:
        """Stream the file at ``url`` into ``fh``; resume with ``Range`` after a drop.

        ``max_bytes`` caps what is written, counted after decompression as it streams (urllib3
        inflates at most one block per read), so a compression bomb stops within one block.
        """
        state = {"written": 0}

        def attempt() -> int:
            written = state["written"]
            headers = {"Range": f"bytes={written}-", "Accept-Encoding": "identity"} if written else {}
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
                gzipped = response.headers.get("Content-Encoding", "").lower() == "gzip"
                expected = None if gzipped else _expected_length(response, written)
                try:
                    for block in response.iter_content(DOWNLOAD_BLOCK):
                        if state["written"] + len(block) > max_bytes:
                            raise ResultsTooLargeError(job_id, max_bytes)
                        fh.write(block)
                        state["written"] += len(block)
                        progress.advance(len(block))
                except requests.RequestException as exc:
                    if gzipped:  # compressed offsets cannot be resumed: restart cleanly
                        fh.seek(0)
                        fh.truncate()
                        state["written"] = 0
                    raise ConnectionError(f"{what}: connection dropped ({exc.__class__.__name__})") from None
                if expected is not None and state["written"] != expected:
                    raise ConnectionError(f"{what}: got {state['written']} of {expected} bytes")
            return state["written"]

        return self._retrying(attempt)


def _expected_length(response: requests.Response, written: int) -> int | None:
    length = response.headers.get("Content-Length")
    return written + int(length) if length and length.isdigit() else None


def _range_start(response: requests.Response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None
