"""Compression bombs and a storage server that serves one (or any gzipped results): alone (every
GET is the body), or in front of a real emulator, where only the results download is the body
and every other request goes on to X as usual, so a whole DAG runs until its download."""

from __future__ import annotations

import http.client
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from x_compliance.hooks.jobs import ComplianceJob

# Headers of one hop: the server sets its own.
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def gzip_bomb(line: bytes, inflated: int, *, member: int = 64 << 20) -> bytes:
    """``line`` repeated to ``inflated`` bytes, gzipped at level 9: one member of ``member``
    bytes compressed once and sent again and again (a gzip stream may hold many members), so a
    2 GiB bomb is built in a second rather than compressed for half a minute."""
    one = zlib.compress(line * (member // len(line)), 9, wbits=31)
    return one * (inflated // member)


def complete_job(download_url: str) -> ComplianceJob:
    """A complete job whose results are at ``download_url``, as X would describe it."""
    return ComplianceJob.from_api(
        {
            "id": "1460",
            "type": "tweets",
            "status": "complete",
            "resumable": False,
            "created_at": "2026-11-20T00:00:00.000Z",
            "upload_expires_at": "2026-11-20T00:15:00.000Z",
            "download_expires_at": "2026-11-27T00:00:00.000Z",
            "download_url": download_url,
        }
    )


class GzipStorage:
    """A storage server on 127.0.0.1 whose results object is ``body`` (gzip bytes: a bomb, or
    real results), sent with ``Content-Encoding: <encoding>``. With ``upstream`` (the emulator's URL) it is
    X's address too: the client sends every call here, the signed URLs X hands out point here,
    and all but the results download (a GET of a ``/delivery/`` object) are passed to the
    emulator."""

    def __init__(self, body: bytes, upstream: str | None = None, *, encoding: str = "gzip") -> None:
        self.body = body
        self.encoding = encoding
        self.upstream = urlsplit(upstream) if upstream else None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def results_url(self) -> str:
        """The results object's URL, signed as X signs it (the signature is a credential)."""
        return f"{self.url}/results?X-Goog-Signature=abc"

    def __enter__(self) -> GzipStorage:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        storage = self

        class Handler(BaseHTTPRequestHandler):
            def serve(self) -> None:
                if self.command == "GET" and (storage.upstream is None or "/delivery/" in self.path):
                    storage._send_body(self)
                else:
                    storage._forward(self)

            do_GET = do_PUT = do_POST = serve

            def log_message(self, *args) -> None:
                pass

        return Handler

    def _send_body(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Encoding", self.encoding)
        handler.send_header("Content-Length", str(len(self.body)))
        handler.end_headers()
        try:
            for start in range(0, len(self.body), 64 << 10):
                handler.wfile.write(self.body[start : start + (64 << 10)])
        except OSError:
            pass  # the client stopped reading: as it should

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        """The request as it came (its ``Host`` too, which X signed), the answer as it went."""
        assert self.upstream is not None
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            upstream.request(handler.command, handler.path, body=body, headers=dict(handler.headers))
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        handler.send_response_only(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_HEADERS:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
