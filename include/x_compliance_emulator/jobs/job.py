"""One compliance job: its record, its lifecycle derived from the clock, and its wire form.

Status is never stored: it is computed from timestamps on every read, so advancing the emulator
clock moves jobs through created → in_progress → complete (or → expired) with no timers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CREATED, IN_PROGRESS, COMPLETE, FAILED, EXPIRED = "created", "in_progress", "complete", "failed", "expired"
STATUSES = (CREATED, IN_PROGRESS, COMPLETE, FAILED, EXPIRED)
# A resumable session URL stays valid for a week (GCS); while it lives the job is kept alive.
SESSION_LIFETIME_SECONDS = 7 * 86400


def wire_time(epoch: float) -> str:
    """``2021-10-07T07:41:18.000Z``: whole seconds with a .000 fraction, like every recorded job."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(epoch)))


@dataclass
class UploadSession:
    """A GCS resumable upload session: what has been persisted so far, and where."""

    id: str
    path: Path
    expires_at: float
    persisted: int = 0
    done: bool = False


@dataclass
class Job:
    id: str
    type: str
    token: str
    name: str | None
    resumable: bool
    created_at: float
    upload_expires_at: float
    download_expires_at: float
    upload_url: str
    download_url: str
    object_name: str
    directory: Path
    # Upload side.
    uploads_in_flight: int = 0
    session_deadline: float | None = None
    sessions: dict[str, UploadSession] = field(default_factory=dict)
    upload_forced_expired: bool = False
    upload_generation: int = 0
    bytes_uploaded: int = 0
    # Processing side, fixed when the upload finishes.
    uploaded_at: float | None = None
    processing_starts_at: float | None = None
    processing_due_at: float | None = None
    processing_base: float = 0.0
    processing_per_million: float = 0.0
    next_generation: int = 0
    results_ready: bool = False
    error: str | None = None
    forced_error: str | None = None
    corruption: str | None = None  # a corrupt_results fault: what to append to the results
    ids_uploaded: int | None = None

    @property
    def results_path(self) -> Path:
        return self.directory / "results.jsonl"

    def upload_path(self, generation: int) -> Path:
        return self.directory / f"upload-{generation}.txt"

    def status(self, now: float) -> str:
        if self.uploaded_at is None:
            return EXPIRED if self._upload_lapsed(now) else CREATED
        assert self.processing_starts_at is not None
        if now < self.processing_starts_at:
            return CREATED
        # Done only when the results file is written AND the modelled processing time has passed.
        if not self.results_ready or self.processing_due_at is None or now < self.processing_due_at:
            return IN_PROGRESS
        return FAILED if self.error else COMPLETE

    def _upload_lapsed(self, now: float) -> bool:
        if self.upload_forced_expired:
            return True
        # An upload that started inside the window may finish after it, as with GCS.
        if self.uploads_in_flight or (self.session_deadline is not None and now < self.session_deadline):
            return False
        return now >= self.upload_expires_at

    def accepts_upload(self, now: float) -> bool:
        """True while an upload still replaces the file: X has not started reading it."""
        return self.status(now) == CREATED

    def blocks_new_job(self, now: float, created_blocks: bool) -> bool:
        status = self.status(now)
        if status == IN_PROGRESS:
            return True
        # An uploaded job waiting out its lag is being processed as far as X is concerned.
        return status == CREATED and (created_blocks or self.uploaded_at is not None)

    def to_wire(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        body: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.name is not None:
            body["name"] = self.name
        body.update(
            status=status,
            resumable=self.resumable,
            created_at=wire_time(self.created_at),
            upload_url=self.upload_url,
            upload_expires_at=wire_time(self.upload_expires_at),
            download_url=self.download_url,
            download_expires_at=wire_time(self.download_expires_at),
        )
        if status == FAILED:
            body["error"] = self.error
        return body

    def record(self, now: float) -> dict[str, Any]:
        """The internal view for tests and the admin API."""
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "status": self.status(now),
            "resumable": self.resumable,
            "token": self.token,
            "ids_uploaded": self.ids_uploaded,
            "bytes_uploaded": self.bytes_uploaded,
            "error": self.error,
            "created_at": self.created_at,
            "uploaded_at": self.uploaded_at,
            "results_ready": self.results_ready,
        }
