"""Counters of what clients did: requests and responses per endpoint, 429s, bytes moved.

Tests read them to prove behaviour from the outside, e.g. that a Basic-tier poller never got a 429
or that a resumed download did not fetch the file twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

ENDPOINTS = ("create", "get", "list", "upload", "download")
DROPPED = "dropped"


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter({e: 0 for e in ENDPOINTS})
            self._responses: dict[str, Counter[str]] = {e: Counter() for e in ENDPOINTS}
            self._bytes = Counter({"uploaded": 0, "downloaded": 0})

    def request(self, endpoint: str) -> None:
        with self._lock:
            self._requests[endpoint] += 1

    def response(self, endpoint: str, status: int | str) -> None:
        with self._lock:
            self._responses.setdefault(endpoint, Counter())[str(status)] += 1

    def uploaded(self, count: int) -> None:
        with self._lock:
            self._bytes["uploaded"] += count

    def downloaded(self, count: int) -> None:
        with self._lock:
            self._bytes["downloaded"] += count

    def snapshot(self) -> dict[str, Any]:
        """A plain, JSON-ready copy; status codes are string keys (as they are over the admin API)."""
        with self._lock:
            return {
                "requests": dict(self._requests),
                "responses": {e: dict(c) for e, c in self._responses.items()},
                "rate_limited": {e: c.get("429", 0) for e, c in self._responses.items()},
                "dropped": {e: c.get(DROPPED, 0) for e, c in self._responses.items()},
                "bytes_uploaded": self._bytes["uploaded"],
                "bytes_downloaded": self._bytes["downloaded"],
            }
