"""The emulator's clock: wall time plus an offset that tests and the admin API can advance.

Everything time-dependent (job lifecycle, rate-limit windows, URL expiry, the Date header) reads
this clock, so advancing it by 15 minutes expires an upload URL without anyone waiting. Given a
state file, the offset survives a restart: time never runs backwards for the jobs kept on disk.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from x_compliance_emulator.jobs.persistence import write_atomically


class Clock:
    def __init__(self, state_file: Path | None = None) -> None:
        self._state_file = state_file
        self._offset = 0.0
        if state_file is not None and state_file.is_file():
            self._offset = float(json.loads(state_file.read_text())["offset_seconds"])
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds
            if self._state_file is not None:
                write_atomically(self._state_file, {"offset_seconds": self._offset})
        return self.now()
