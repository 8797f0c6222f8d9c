"""Run the emulator on a real socket, in a background thread with its own event loop.

``EmulatorServer(config).start()`` returns once the port accepts connections; ``.url`` is the
base URL for the X API and for the signed storage URLs; ``.stop()`` is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from aiohttp import web

from x_compliance_emulator.runtime.app import build_app
from x_compliance_emulator.runtime.config import EmulatorConfig
from x_compliance_emulator.runtime.emulator import Emulator

STARTUP_TIMEOUT_SECONDS = 30
log = logging.getLogger(__name__)


class EmulatorServer:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.emulator = Emulator(self.config)
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1]) if self.url else 0

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="x-compliance-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_SECONDS):
            raise RuntimeError("the emulator did not start in time")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(
                f"the emulator could not start: {self._startup_error}"
            ) from self._startup_error
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._thread = None
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self.emulator.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen())
        except BaseException as exc:  # reported to start(), which re-raises in the caller's thread
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            assert self._runner is not None
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    async def _listen(self) -> None:
        # aiohttp's default (no handler cancellation on disconnect) matters: a client hanging up
        # must not cancel a handler halfway through a job-store change; handlers see it as a
        # short body instead.
        self._runner = web.AppRunner(build_app(self.emulator), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
        self.url = f"http://{shown_host}:{port}"
        log.info("x-compliance emulator listening on %s", self.url)
