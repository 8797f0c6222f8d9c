"""Fixed rate-limit windows per token and endpoint, as X counts them.

A window opens at the first request after the previous one ended and lasts
``rate_limit_window_seconds``; ``x-rate-limit-reset`` is its end in integer epoch seconds.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset),
        }


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def hit(self, token: str, endpoint: str, limit: int, window: float, now: float) -> Quota:
        """Count one request; not allowed (and not counted) once the window's limit is used up."""
        with self._lock:
            start, used = self._current(token, endpoint, window, now)
            allowed = used < limit
            if allowed:
                used += 1
                self._windows[(token, endpoint)] = (start, used)
        # Rounded up so that a client sleeping until the reset never lands inside the old window.
        return Quota(allowed, limit, max(limit - used, 0), math.ceil(start + window))

    def peek(self, token: str, endpoint: str, limit: int, window: float, now: float) -> Quota:
        with self._lock:
            start, used = self._windows.get((token, endpoint), (now, 0))
            if now >= start + window:
                start, used = now, 0
        return Quota(True, limit, max(limit - used, 0), math.ceil(start + window))

    def _current(self, token: str, endpoint: str, window: float, now: float) -> tuple[float, int]:
        start, used = self._windows.get((token, endpoint), (now, 0))
        if now >= start + window:
            return now, 0
        if (token, endpoint) not in self._windows:
            self._windows[(token, endpoint)] = (start, used)
        return start, used
