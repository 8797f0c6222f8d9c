"""The compliance job as X describes it: its type, its status and the job object itself.

Parsing is tolerant where the wire facts are open (timestamps with or without milliseconds,
``Z`` or ``+00:00``), and strict where a wrong guess would hide a bug (unknown statuses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from x_compliance.exceptions import JobExpiredError, JobFailedError, XComplianceError


class JobType(StrEnum):
    """What a job checks: Post IDs or user IDs, never mixed in one file."""

    TWEETS = "tweets"
    USERS = "users"


class JobStatus(StrEnum):
    """The one place statuses are compared; nothing else matches on status strings."""

    CREATED = "created"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    FAILED = "failed"
    EXPIRED = "expired"

    def is_terminal(self) -> bool:
        """True when the job will never change again, so waiting on it is pointless."""
        return self in (JobStatus.COMPLETE, JobStatus.FAILED, JobStatus.EXPIRED)

    def is_active(self) -> bool:
        """True when the job holds its type's single slot ("one concurrent job per job type")."""
        return self in (JobStatus.CREATED, JobStatus.IN_PROGRESS)


def parse_timestamp(value: str) -> datetime:
    """Parse X's ISO-8601 timestamps in both styles seen on the wire (``...000Z`` and ``+00:00``)."""
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class ComplianceJob:
    """A compliance job as returned by create, get and list.

    The two signed URLs are credentials (anyone holding one can write or read the file until it
    expires), so they are kept out of ``repr`` and out of :meth:`summary`, which is what goes
    to logs and XCom.
    """

    id: str
    type: JobType
    status: JobStatus
    resumable: bool
    created_at: datetime
    upload_expires_at: datetime
    download_expires_at: datetime
    name: str | None = None
    error: str | None = None
    upload_url: str = field(default="", repr=False)
    download_url: str = field(default="", repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ComplianceJob:
        """Build a job from the ``data`` object of any of the three endpoints."""
        try:
            status = data["status"]
            if status not in JobStatus._value2member_map_:
                raise XComplianceError(f"X returned job {data.get('id')} with unknown status {status!r}")
            return cls(
                id=str(data["id"]),
                type=JobType(data["type"]),
                status=JobStatus(status),
                # Every recorded response carries `resumable`; default to the API's default anyway.
                resumable=bool(data.get("resumable", False)),
                created_at=parse_timestamp(data["created_at"]),
                upload_expires_at=parse_timestamp(data["upload_expires_at"]),
                download_expires_at=parse_timestamp(data["download_expires_at"]),
                name=data.get("name"),
                error=data.get("error"),
                upload_url=data.get("upload_url", ""),
                download_url=data.get("download_url", ""),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise XComplianceError(f"X returned a job object this client cannot read: {exc!r}") from exc

    def raise_for_status(self) -> ComplianceJob:
        """Raise :class:`JobFailedError` (with X's ``error``) or :class:`JobExpiredError`; else self."""
        if self.status is JobStatus.FAILED:
            raise JobFailedError(self.id, self.error)
        if self.status is JobStatus.EXPIRED:
            raise JobExpiredError(self.id)
        return self

    def describe(self) -> str:
        """One human line for task logs."""
        name = f" {self.name!r}" if self.name else ""
        return f"{self.type.value} job {self.id}{name} ({self.status.value})"
