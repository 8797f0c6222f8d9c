"""The emulator's clock: wall time plus an offset that tests and the admin API can advance.

Everything time-dependent (job lifecycle, rate-limit windows, URL expiry, the Date header) reads
this clock, so advancing it by 15 minutes expires an upload URL without anyone waiting.
"""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()
