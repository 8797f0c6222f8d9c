"""Progress lines for long transfers, so a user watching the task log sees how far along it is,
and sizes and durations as a person says them (:func:`human_size`, :func:`duration`).

At most one line every ``interval`` seconds (plus the last one), whatever the file size.
"""

from __future__ import annotations

import logging
import time

UNITS = ("B", "KB", "MB", "GB", "TB")


def human_size(nbytes: float) -> str:
    """Bytes in the largest decimal unit that keeps the number at least 1: 23,620 -> "23.6 KB"."""
    size, unit = float(nbytes), UNITS[0]
    for unit in UNITS:
        if abs(size) < 1000 or unit == UNITS[-1]:
            break
        size /= 1000
    return f"{int(size):,} B" if unit == "B" else f"{size:,.1f} {unit}"


def duration(seconds: float | None) -> str:
    """``4.2 s``, ``12 min 5 s``, ``3 h 20 min``: how a person says a wait."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class Progress:
    """Counts bytes (and IDs when known) of one transfer and logs them at a steady pace."""

    def __init__(
        self,
        log: logging.Logger,
        verb: str,
        *,
        total_bytes: int | None = None,
        total_ids: int | None = None,
        interval: float = 10.0,
    ) -> None:
        self.log = log
        self.verb = verb
        self.total_bytes = total_bytes
        self.total_ids = total_ids
        self.interval = interval
        self.restart()

    def restart(self) -> None:
        """Start counting again (a transfer that restarts from zero)."""
        self.bytes = 0
        self.ids = 0
        self.started = time.monotonic()
        self._last_log = self.started

    def seek(self, nbytes: int, nids: int = 0) -> None:
        """Continue from an offset (a transfer that resumes)."""
        self.bytes = nbytes
        self.ids = nids

    def advance(self, nbytes: int, nids: int = 0) -> None:
        self.bytes += nbytes
        self.ids += nids
        now = time.monotonic()
        if now - self._last_log >= self.interval:
            self._last_log = now
            self.log.info("%s", self.line())

    def line(self) -> str:
        parts = [self.verb]
        ids = self.ids
        if not ids and self.total_ids and self.total_bytes:
            # Resumable chunks count bytes only; IDs are near enough proportional to bytes.
            ids = round(self.total_ids * self.bytes / self.total_bytes)
        if ids or self.total_ids:
            parts.append(f"{ids:,}" + (f" of {self.total_ids:,}" if self.total_ids else "") + " IDs,")
        parts.append(
            human_size(self.bytes) + (f" of {human_size(self.total_bytes)}" if self.total_bytes else "")
        )
        if self.total_bytes:
            parts.append(f"({100.0 * self.bytes / self.total_bytes:.0f}%)")
        elapsed = max(time.monotonic() - self.started, 1e-9)
        parts.append(f"at {human_size(self.bytes / elapsed)}/s")
        return " ".join(parts)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started
