"""Typed errors a DAG author can catch, one per thing that can go wrong with X.

Errors that no retry can fix (bad credentials, bad input, a failed job) also derive from
``AirflowFailException`` so that Airflow fails the task at once instead of burning retries.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout


class XComplianceError(AirflowException):
    """Base class of every error raised by this provider."""


class XComplianceApiError(XComplianceError):
    """X's API answered with an error: the HTTP status and X's own words are kept."""

    def __init__(self, message: str, *, status: int | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class UnauthorizedError(XComplianceApiError, AirflowFailException):
    """The bearer token was refused (HTTP 401): fix the connection, retrying will not help."""


class InvalidRequestError(XComplianceApiError, AirflowFailException):
    """X rejected the request's parameters (HTTP 400); ``messages`` holds X's explanations."""

    def __init__(self, message: str, *, messages: list[str] | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.messages = messages or []


class NotFoundError(XComplianceApiError):
    """No compliance job with that id is visible to this app."""


class ConflictError(XComplianceApiError):
    """Another job of the same type is active: X allows one concurrent job per type."""


class RateLimitedError(XComplianceApiError):
    """HTTP 429. ``wait_seconds`` is how long until the window resets, by X's own clock."""

    def __init__(self, message: str, *, reset_at: datetime | None, wait_seconds: float, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at
        self.wait_seconds = wait_seconds


class ServerError(XComplianceApiError):
    """X or its storage answered 5xx: transient by nature, retried with backoff."""


class TransferError(XComplianceError):
    """An upload or download kept losing its connection after every retry allowed (no URL in the
    message: signed URLs are credentials). A retry of the task resumes or restarts it."""


class StorageError(XComplianceError):
    """The signed storage URL refused the request (the XML error ``code`` is kept)."""

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class UploadUrlExpiredError(StorageError, AirflowFailException):
    """The 15-minute upload window of the job passed: the job is useless, create a new one."""


class DownloadUrlExpiredError(StorageError, AirflowFailException):
    """The results of the job are no longer downloadable (7 days after creation)."""


class ReplacementBlockedError(XComplianceError):
    """A job lapsed before its upload and another job of the type holds X's slot, so its
    replacement (``name``) could not be created yet; ``new_jobs_left`` replacements remain after it.

    The all-in-one operator waits for the slot (deferred) and creates it then; a retry of a
    single-step upload tries again."""

    def __init__(self, message: str, *, name: str, new_jobs_left: int) -> None:
        super().__init__(message)
        self.name = name
        self.new_jobs_left = new_jobs_left


class JobFailedError(XComplianceError, AirflowFailException):
    """X reports the job ``failed``; ``error`` is X's own explanation."""

    def __init__(self, job_id: str, error: str | None) -> None:
        super().__init__(f"X compliance job {job_id} failed: {error or 'X gave no reason'}")
        self.job_id = job_id
        self.error = error


class JobExpiredError(XComplianceError, AirflowFailException):
    """The job expired (no upload within its window): a new job must be created."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"X compliance job {job_id} expired: its IDs were never uploaded in time; create a new job"
        )
        self.job_id = job_id


class FileError(XComplianceError):
    """A problem with one of a job's files: the message names the job (when known) and the file,
    and the error keeps both, so a task's log says which job, file and line."""

    def __init__(self, source: str, problem: str, *, job_id: str | None = None) -> None:
        where = f"job {job_id}: " if job_id else ""
        super().__init__(f"{where}{source}{problem}")
        self.source = source
        self.job_id = job_id


class InvalidIdError(FileError, AirflowFailException):
    """A line of an ID file is not a Post or user ID; nothing was sent."""

    def __init__(
        self,
        source: str,
        line_number: int,
        value: str,
        *,
        job_id: str | None = None,
        reason: str = "expected 1 to 19 ASCII digits",
        outcome: str = "nothing was uploaded",
    ) -> None:
        problem = f", line {line_number}: {value[:80]!r} is not an ID ({reason}); {outcome}"
        super().__init__(source, problem, job_id=job_id)
        self.line_number = line_number
        self.value = value
        self.reason = reason


class IdFileChangedError(FileError):
    """An ID file changed after it was validated (or while it was): its upload stopped before
    the last byte, so X has none of it and the job still takes an upload. A retry of the task
    validates the file again."""

    def __init__(self, source: str, offset: int, *, job_id: str | None = None) -> None:
        problem = (
            f" changed after it was validated (seen at byte {offset:,}); the upload stopped before "
            "its last byte, so X has none of it"
        )
        super().__init__(source, problem, job_id=job_id)
        self.offset = offset


class MalformedResultError(FileError, AirflowFailException):
    """A line of a results file cannot be read; nothing from that file is applied."""

    def __init__(self, source: str, line_number: int, line: str, reason: str, *, job_id: str | None = None):
        super().__init__(source, f", line {line_number}: {reason}: {line[:120]!r}", job_id=job_id)
        self.line_number = line_number
        self.line = line


class LineTooLongError(FileError, AirflowFailException):
    """A line of an ID or results file is longer than any real one can be; nothing was used.

    Found as the file streams, in linear time: the line is never read whole.
    """

    def __init__(self, source: str, line_number: int, limit: int, *, job_id: str | None = None) -> None:
        problem = f", line {line_number}: longer than {limit:,} bytes; no real line is, so it was refused"
        super().__init__(source, problem, job_id=job_id)
        self.line_number = line_number
        self.limit = limit


class ResultsTooLargeError(XComplianceError, AirflowFailException):
    """A results download grew past its cap (counted after decompression): nothing was kept."""

    def __init__(self, job_id: str, limit: int, message: str | None = None) -> None:
        super().__init__(
            message
            or f"job {job_id}: the results passed {limit:,} bytes (decompressed) and were refused; "
            "raise max_download_bytes on the connection extra or the operator if that is expected"
        )
        self.job_id = job_id
        self.limit = limit


class CompressionRatioError(ResultsTooLargeError):
    """A results download inflated more than ``max_ratio`` times the compressed bytes received (a
    compression bomb): refused within one block, whatever the size cap; nothing was kept.
    ``limit`` is what the bytes received allowed."""

    def __init__(self, job_id: str, max_ratio: float, *, received: int, inflated: int) -> None:
        message = (
            f"job {job_id}: the results inflated to {inflated:,} bytes from {received:,} received, "
            f"more than {max_ratio:g} times, and were refused (real results compress about 4 to 16 times); "
            "raise max_compression_ratio on the connection extra if that is expected"
        )
        super().__init__(job_id, int(max_ratio * received), message)
        self.max_ratio = max_ratio
        self.received = received
        self.inflated = inflated


class WaitTimeoutError(XComplianceError, AirflowSensorTimeout):
    """Waiting on a job (or on the slot of its type) took longer than the task allows."""


class TwarcLineError(FileError, AirflowFailException):
    """A line of a twarc2 file cannot be used: malformed JSON, or neither a page of the API nor
    a flattened Post or user. Found before anything is written: the file is left as it was."""

    def __init__(self, source: str, line_number: int, problem: str) -> None:
        super().__init__(source, f", line {line_number}: {problem}; nothing was rewritten")
        self.line_number = line_number
        self.problem = problem


class MixedRecordsError(TwarcLineError):
    """A twarc2 file holds Posts and users: X checks them in separate jobs, so such a file is
    not one dataset and is refused whole (``line_number`` is the first line of the second kind)."""


class DataFileChangedError(FileError):
    """A data file changed while it was being rewritten (its size or modification time moved):
    the rewrite was dropped and the file holds what its writer put there. A retry starts again."""

    def __init__(self, source: str) -> None:
        super().__init__(source, " changed while it was being rewritten; the rewrite was dropped")


class ParquetColumnError(FileError, AirflowFailException):
    """A Parquet data file lacks a column the verdicts need (the Post ID, or the author's ID for a
    removed user's Posts), or holds values there that are no IDs. Found before anything is
    written: the file is left as it was."""

    def __init__(self, source: str, column: str, problem: str) -> None:
        super().__init__(source, f": column {column!r} {problem}; nothing was rewritten")
        self.column = column
        self.problem = problem
