"""The event a job trigger sends back to its task, and its validation on arrival.

The event crossed a process and a database before ``execute_complete`` sees it, so it is
checked field by field instead of trusted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from x_compliance.exceptions import JobExpiredError, JobFailedError, WaitTimeoutError, XComplianceError
from x_compliance.hooks.jobs import JobStatus

# Outcomes of a wait. `status` is what happened to the wait, `job_status` what X said last.
FINISHED = "finished"  # the job reached a terminal status (complete, failed or expired)
TIMEOUT = "timeout"  # the deadline passed first
ERROR = "error"  # polling itself failed (bad token, unknown job...)


@dataclass(frozen=True)
class JobEvent:
    status: str
    job_id: str
    message: str
    job_status: str | None = None
    error: str | None = None
    # How many status calls the trigger made, and when one first saw the job terminal (ISO).
    # Optional: events from triggers serialized by earlier versions lack them.
    status_calls: int | None = None
    seen_at: str | None = None
    # When the last status call that saw the job unfinished was made (ISO): with ``seen_at``,
    # the bounds of X's time on the job.
    unfinished_at: str | None = None
    # The job's creation time (ISO), and the status endpoint's headers after the wait's last call
    # (``RateLimit.to_json``): what the steps after the wait need, without a call of their own.
    job_created_at: str | None = None
    status_limit: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: Any) -> JobEvent:
        if not isinstance(payload, dict):
            raise XComplianceError(f"Trigger sent an unreadable event: {payload!r:.200}")
        try:
            event = cls(**payload)
        except TypeError as exc:
            raise XComplianceError(f"Trigger sent an event with unexpected fields: {payload!r:.200}") from exc
        if event.status not in (FINISHED, TIMEOUT, ERROR) or not isinstance(event.job_id, str):
            raise XComplianceError(f"Trigger sent an event this version cannot read: {payload!r:.200}")
        if event.status == FINISHED and event.job_status not in JobStatus._value2member_map_:
            raise XComplianceError(f"Trigger reported an unknown job status: {payload!r:.200}")
        return event

    def raise_unless_complete(self) -> None:
        """The sensor's verdict: return on ``complete``, raise a clear error on anything else."""
        if self.status == TIMEOUT:
            raise WaitTimeoutError(self.message)
        if self.status == ERROR:
            raise XComplianceError(f"Waiting on X compliance job {self.job_id} failed: {self.message}")
        status = JobStatus(self.job_status)
        if status is JobStatus.FAILED:
            raise JobFailedError(self.job_id, self.error)
        if status is JobStatus.EXPIRED:
            raise JobExpiredError(self.job_id)
