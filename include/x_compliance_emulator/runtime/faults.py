"""Injected misbehaviour: a queue of faults that matching requests consume in order.

Request faults (http_429/500/503, slow, drop) hit API or storage requests by target; job faults
(fail_job, expire_upload, corrupt_results) hit the next job to be processed or uploaded, or the
job whose id is the target.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass
from typing import Any

REQUEST_KINDS = ("http_429", "http_500", "http_503", "slow", "drop")
JOB_KINDS = ("fail_job", "expire_upload", "corrupt_results")
# What a corrupt_results fault appends to a job's results (its `error` field picks one).
CORRUPTIONS = ("malformed_line", "unknown_reason", "stray_id")
KINDS = REQUEST_KINDS + JOB_KINDS
TARGETS = ("create", "get", "list", "upload", "download", "any")
UNTIL_CLEARED = -1


@dataclass
class Fault:
    kind: str
    target: str = "any"
    count: int = 1
    after_bytes: int = 0
    seconds: float = 0.0
    error: str | None = None
    body: str | None = None

    def __post_init__(self) -> None:
        # Converted first: faults also arrive as strings (CLI) and JSON values (admin API).
        self.target = str(self.target)
        self.count, self.after_bytes = int(self.count), int(self.after_bytes)
        self.seconds = float(self.seconds)
        if not math.isfinite(self.seconds) or self.seconds < 0 or self.after_bytes < 0:
            raise ValueError("seconds and after_bytes must be finite numbers >= 0")
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}, not {self.kind!r}")
        if self.target not in TARGETS and not self.target.isdigit():
            raise ValueError(f"fault target must be one of {TARGETS} or a job id, not {self.target!r}")
        if self.kind == "corrupt_results" and (self.error or CORRUPTIONS[0]) not in CORRUPTIONS:
            raise ValueError(f"corrupt_results takes error= one of {CORRUPTIONS}, not {self.error!r}")
        if self.count == 0 or self.count < UNTIL_CLEARED:
            raise ValueError("count must be positive, or -1 for 'until cleared'")

    def matches(self, kinds: tuple[str, ...], target: str, job_id: str | None) -> bool:
        if self.kind not in kinds:
            return False
        if self.kind in JOB_KINDS:
            # A job fault names a job by id, or else hits the next job whatever endpoint it names.
            return self.target == job_id or not self.target.isdigit()
        return self.target in ("any", target)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FaultQueue:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [dataclasses.replace(f) for f in self._faults]

    def take(
        self, kinds: tuple[str, ...], target: str, job_id: str | None = None, body_bytes: int | None = None
    ) -> Fault | None:
        """Consume one use of the first pending fault that applies; None when nothing applies.

        ``body_bytes`` is the request body's announced length: a drop "after N bytes of the body"
        cannot happen to a shorter body (a resumable start, a status query), so it waits for a
        request it can cut."""
        with self._lock:
            for fault in self._faults:
                if fault.kind == "drop" and body_bytes is not None and 0 < fault.after_bytes >= body_bytes:
                    continue
                if fault.matches(kinds, target, job_id):
                    taken = dataclasses.replace(fault)
                    if fault.count != UNTIL_CLEARED:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return taken
            return None
