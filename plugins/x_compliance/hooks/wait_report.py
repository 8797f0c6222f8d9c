"""What the wait step saw of X's work: how many status calls it made and how long X took.

X's job object has no completion time, so the time X took is measured from our side: from the
end of the upload (or the job's creation when the upload time is unknown) to the first status
call that saw the job complete. It is an upper bound, within one poll interval.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from x_compliance.hooks.jobs import parse_timestamp
from x_compliance.hooks.progress import duration

REPORT_KEY = "wait_report"  # the XCom key the wait step pushes it under


def now_iso() -> str:
    """Now in UTC, ISO 8601 to the millisecond: how the wait and upload steps stamp what they saw."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def wait_report(
    job_id: str,
    status: str,
    *,
    created_at: str | None,
    status_calls: int,
    uploaded_at: str | None,
    completed_at: str | None = None,
    status_limit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A JSON-safe report for XCom and for the ``compliance_runs`` row: the job's id, its status
    and creation time (ISO; ``None`` when unknown), as a status call or a deferred wait's event
    told them. ``status_limit``: the status endpoint's headers after the wait's last call, for the
    download's read of the job to keep within."""
    completed_at = completed_at or now_iso()
    since = uploaded_at or created_at
    seconds = None
    if since:
        seconds = max((parse_timestamp(completed_at) - parse_timestamp(since)).total_seconds(), 0.0)
    return {
        "job_id": job_id,
        "status": status,
        "status_calls": status_calls,
        "uploaded_at": uploaded_at,
        "completed_at": completed_at,
        "x_processing_seconds": None if seconds is None else round(seconds, 3),
        "status_limit": status_limit,
    }


def describe(report: dict[str, Any]) -> str:
    """The wait task's last log line."""
    since = "its upload" if report.get("uploaded_at") else "its creation"
    return (
        f"X compliance job {report['job_id']} is {report['status']}: X took "
        f"{duration(report.get('x_processing_seconds'))} from {since} "
        f"({report['status_calls']} status call{'' if report['status_calls'] == 1 else 's'} made)"
    )
