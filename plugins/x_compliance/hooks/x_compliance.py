"""``XComplianceHook``: the only code in this project that speaks HTTP to X.

API calls ride on the http provider's ``HttpHook`` (connection handling, session setup) with a
bearer token taken from the connection's password; signed-URL transfers go through
:class:`~x_compliance.hooks.storage.SignedUrlClient`, which never sends the token. Sync and
async calls share one retry rule (:mod:`x_compliance.hooks.retry`) and one response reader
(:mod:`x_compliance.hooks.responses`).

The hook is transport only: it sends files it is given and writes what it downloads to a
file, and reads or checks no ID file itself. The upload step
(:func:`x_compliance.operators.steps.upload_ids`) validates the IDs with ``files/`` and hands
the hook the result, a :class:`~x_compliance.files.validated.ValidatedIdFile`, the only thing
:meth:`XComplianceHook.upload_file` sends. So ``files/`` never needs the hook, and this module,
which the triggerer loads, imports only the light parts of ``files/`` (the ID rule for job ids,
the download cap, that value object): no numpy, pyarrow or pandas.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import aiohttp
import requests
import tenacity
from airflow.providers.common.compat.connection import get_async_connection
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.log import mask_secret

from x_compliance.exceptions import InvalidRequestError, XComplianceError
from x_compliance.files.ids import id_problem
from x_compliance.files.limits import MAX_COMPRESSION_RATIO, results_byte_cap
from x_compliance.files.validated import ValidatedIdFile
from x_compliance.hooks import redact
from x_compliance.hooks.jobs import ComplianceJob, JobStatus, JobType
from x_compliance.hooks.pacing import RESET_SLACK_SECONDS
from x_compliance.hooks.progress import Progress, human_size
from x_compliance.hooks.responses import RateLimit, api_payload, rate_limit_of
from x_compliance.hooks.retry import retry_policy
from x_compliance.hooks.storage import DEFAULT_CHUNK_SIZE, SignedUrlClient

JOBS_ENDPOINT = "2/compliance/jobs"
# X counts each endpoint's calls in a window of its own: these name them in `rate_limits`.
CREATE, STATUS, LIST = "create", "status", "list"
MAX_NAME_LENGTH = 64
DEFAULT_TIMEOUT = 60.0


class BearerAuth(requests.auth.AuthBase):
    """App-only auth: ``Authorization: Bearer <token>`` on API calls (never on signed URLs)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


@dataclass(frozen=True)
class UploadReport:
    """What an upload sent: small and JSON-safe, for logs and XCom."""

    job_id: str
    ids: int
    bytes: int
    seconds: float
    resumable: bool


@dataclass(frozen=True)
class DownloadReport:
    """What a download fetched (raw JSON-lines bytes, before parsing)."""

    job_id: str
    bytes: int
    seconds: float


class XComplianceHook(HttpHook):
    """Create, inspect, feed and collect X batch compliance jobs.

    :param x_compliance_conn_id: connection of type ``x_compliance``: host is the API base URL
        (``https://api.x.com`` when empty), password is the app's bearer token.
    :param max_attempts: attempts per call before a transient error (429, 5xx, dropped
        connection) is raised.
    :param max_rate_limit_wait: longest single wait after a 429, in seconds (X's window is 15 min).
    :param timeout: seconds one request may take. Precedence: this argument when given, else the
        connection's ``timeout`` extra (the form's "Request timeout (seconds)"), else 60.
    """

    conn_name_attr = "x_compliance_conn_id"
    default_conn_name = "x_compliance_default"
    conn_type = "x_compliance"
    hook_name = "X Compliance"
    default_host = "https://api.x.com"

    def __init__(
        self,
        x_compliance_conn_id: str = default_conn_name,
        *,
        max_attempts: int = 6,
        max_rate_limit_wait: float = 905.0,
        timeout: float | None = None,
    ) -> None:
        super().__init__(method="GET", http_conn_id=x_compliance_conn_id)
        self.x_compliance_conn_id = x_compliance_conn_id
        self.max_attempts = max_attempts
        self.max_rate_limit_wait = max_rate_limit_wait
        self._timeout_arg = timeout
        self.last_rate_limit: RateLimit | None = None  # the last response's, whatever its endpoint
        self.rate_limits: dict[str, RateLimit] = {}  # the last known of each endpoint (CREATE...)
        self._storage: SignedUrlClient | None = None
        redact.install()

    # -- connection -------------------------------------------------------------------------

    def _extract_auth(self, connection: Any) -> BearerAuth:
        return BearerAuth(self._token_of(connection))

    def _token_of(self, connection: Any) -> str:
        if not connection.password:
            raise XComplianceError(
                f"Connection {self.x_compliance_conn_id!r} has no bearer token: put it in the password field"
            )
        redact.install(connection.password)
        mask_secret(connection.password)
        return connection.password

    @cached_property
    def timeout(self) -> float:
        """Seconds one request may take (see the ``timeout`` parameter for the precedence)."""
        if self._timeout_arg is not None:
            return self._timeout_arg
        return self._timeout_of(self.get_connection(self.x_compliance_conn_id))

    def _timeout_of(self, connection: Any) -> float:
        if self._timeout_arg is not None:
            return self._timeout_arg
        return self._positive_extra(connection, "timeout", float) or DEFAULT_TIMEOUT

    def _policy(self, once: bool = False) -> dict[str, Any]:
        """The retry rule; ``once`` for a wait's status calls, which ride out outages themselves."""
        attempts = 1 if once else self.max_attempts
        return retry_policy(max_attempts=attempts, max_rate_limit_wait=self.max_rate_limit_wait)

    @property
    def storage(self) -> SignedUrlClient:
        if self._storage is None:
            self._storage = SignedUrlClient(self._policy, self.timeout, self.log)
        return self._storage

    # -- rate limits ------------------------------------------------------------------------

    @property
    def status_rate_limit(self) -> RateLimit | None:
        """The job-status endpoint's last known headers: what every wait's pacing reads."""
        return self.rate_limits.get(STATUS)

    def knows_status_limit(self, known: Any) -> None:
        """Take the job-status endpoint's headers another task or trigger saw last
        (:meth:`RateLimit.to_json`), unless this hook has seen newer ones itself."""
        limit = RateLimit.from_json(known)
        if limit is not None and STATUS not in self.rate_limits:
            self.rate_limits[STATUS] = limit

    def _noted(self, kind: str, headers: Any) -> None:
        self.last_rate_limit = rate_limit_of(headers)
        if self.last_rate_limit is not None:
            self.rate_limits[kind] = self.last_rate_limit

    def _window_wait(self, kind: str) -> float:
        """Seconds until ``kind``'s window resets when its last known headers left no call
        (a call now would be a 429 of our own making), else 0."""
        known = self.rate_limits.get(kind)
        if known is None or known.remaining > 0 or known.seconds_to_reset <= 0:
            return 0.0
        self.log.info(
            "No %s call left in X's window (%d a window): waiting %.0fs for its reset",
            kind,
            known.limit,
            known.seconds_to_reset,
        )
        return known.seconds_to_reset + RESET_SLACK_SECONDS

    # -- API calls --------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        endpoint: str,
        *,
        kind: str,
        what: str,
        params: dict | None = None,
        json: dict | None = None,
        once: bool = False,
    ) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            time.sleep(self._window_wait(kind))
            self.method = method
            response = self.run(
                endpoint,
                data=params,
                json=json,
                extra_options={"check_response": False, "timeout": self.timeout},
            )
            self._noted(kind, response.headers)
            return api_payload(response.status_code, response.headers, response.content, what=what)

        return tenacity.Retrying(**self._policy(once))(attempt)

    @staticmethod
    def _job(data: Any) -> ComplianceJob:
        job = ComplianceJob.from_api(data)
        for url in (job.upload_url, job.download_url):
            redact.mask_signed_url(url)
        return job

    def create_job(
        self, job_type: JobType | str, name: str | None = None, resumable: bool = False
    ) -> ComplianceJob:
        """Create a job (HTTP 200, as X answers). Raises ``ConflictError`` if one of the type is active."""
        job_type = JobType(job_type)
        if name is not None and len(name) > MAX_NAME_LENGTH:
            raise InvalidRequestError(f"job name is {len(name)} characters, X allows {MAX_NAME_LENGTH}")
        body: dict[str, Any] = {"type": job_type.value, "resumable": bool(resumable)}
        if name is not None:
            body["name"] = name
        what = f"create {job_type.value} job"
        payload = self._call("POST", JOBS_ENDPOINT, kind=CREATE, json=body, what=what)
        job = self._job(payload["data"])
        self.log.info("Created %s", job.describe())
        return job

    def get_job(self, job_id: str, *, once: bool = False) -> ComplianceJob:
        """Read one job by id (this also re-reads its signed URLs, which never go to XCom).

        With ``once`` a transient error is raised at the first attempt (waits handle it).
        """
        job_id = _checked_id(job_id)
        what = f"get job {job_id}"
        payload = self._call("GET", f"{JOBS_ENDPOINT}/{job_id}", kind=STATUS, what=what, once=once)
        return self._job(payload["data"])

    def list_jobs(
        self, job_type: JobType | str, status: JobStatus | str | None = None
    ) -> list[ComplianceJob]:
        """All jobs of a type, newest first as X lists them; optionally of one status."""
        job_type = JobType(job_type)
        params = {"type": job_type.value}
        if status is not None:
            params["status"] = JobStatus(status).value
        what = f"list {job_type.value} jobs"
        payload = self._call("GET", JOBS_ENDPOINT, kind=LIST, params=params, what=what)
        # An empty list may come without `data` (the spec's minItems 1) and with or without `meta`.
        return [self._job(item) for item in payload.get("data") or []]

    async def aget_job(self, job_id: str, *, once: bool = False) -> ComplianceJob:
        """Async ``get_job`` for triggers: same wire rules and retry rule, no worker thread."""
        job_id = _checked_id(job_id)
        connection = await get_async_connection(self.x_compliance_conn_id, self)
        self._set_base_url(connection)
        url = self.url_from_endpoint(f"{JOBS_ENDPOINT}/{job_id}")
        headers = {"Authorization": f"Bearer {self._token_of(connection)}"}
        timeout = aiohttp.ClientTimeout(total=self._timeout_of(connection))
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async for attempt in tenacity.AsyncRetrying(**self._policy(once)):
                with attempt:
                    await asyncio.sleep(self._window_wait(STATUS))
                    async with session.get(url, headers=headers) as response:
                        body = await response.read()
                        self._noted(STATUS, response.headers)
                        payload = api_payload(
                            response.status, response.headers, body, what=f"get job {job_id}"
                        )
        return self._job(payload["data"])

    # -- transfers --------------------------------------------------------------------------

    def upload_file(
        self, job: ComplianceJob, ids: ValidatedIdFile, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> UploadReport:
        """Stream a validated ID file to the job's upload URL: one PUT, or a resumable session
        in chunks of ``chunk_size`` bytes when the job is resumable.

        A dropped plain PUT starts again; a resumable upload asks what storage holds and goes
        on from there. Either way X keeps nothing until the last byte, which never leaves when
        the file changed since it was validated (``IdFileChangedError``: the job still takes
        an upload). ``UploadUrlExpiredError``: the job is useless, create a new one.
        """
        if not isinstance(ids, ValidatedIdFile):
            raise TypeError("upload_file sends a ValidatedIdFile: validate the IDs first (steps.upload_ids)")
        if job.status is not JobStatus.CREATED:
            raise XComplianceError(f"{job.describe()} takes no upload: only a created job does")
        what = f"upload to job {job.id}"
        self.log.info(
            "Uploading %s (%s IDs, %s) to %s",
            ids.source,
            f"{ids.ids:,}",
            human_size(ids.bytes),
            job.describe(),
        )
        progress = Progress(self.log, "Uploaded", total_bytes=ids.bytes, total_ids=ids.ids)
        with ids.open() as fh:
            if job.resumable:
                session_url = self.storage.start_resumable(job.upload_url, what=what)
                redact.mask_signed_url(session_url)  # the session URL is a credential too
                self.storage.put_resumable(
                    session_url, fh, ids.bytes, what=what, progress=progress, chunk_size=chunk_size
                )
            else:
                self.storage.put_plain(job.upload_url, fh, ids.bytes, what=what, progress=progress)
        self.log.info("Upload to job %s done: %s", job.id, progress.line())
        return UploadReport(job.id, ids.ids, ids.bytes, round(progress.seconds, 3), job.resumable)

    def download_results(
        self,
        job: ComplianceJob,
        destination: str | Path | IO[bytes],
        *,
        max_bytes: int | None = None,
        uploaded_ids: int | None = None,
    ) -> DownloadReport:
        """Stream the job's raw JSON-lines results into ``destination`` (a local path or a
        seekable binary file); a dropped connection resumes with ``Range``.

        At most ``max_bytes`` (decompressed) are accepted: this argument, else the connection's
        ``max_download_bytes`` extra, else :func:`~x_compliance.files.limits.results_byte_cap`
        of ``uploaded_ids``. Past it, ``ResultsTooLargeError``. Whatever the cap, results that
        inflate more than the connection's ``max_compression_ratio`` extra (else
        :data:`~x_compliance.files.limits.MAX_COMPRESSION_RATIO`) times the bytes received
        are a compression bomb: ``CompressionRatioError``, within seconds.
        """
        if job.status is not JobStatus.COMPLETE:
            raise XComplianceError(f"{job.describe()} has no results: only a complete job does")
        connection = self.get_connection(self.x_compliance_conn_id)
        limit = max_bytes or self._positive_extra(connection, "max_download_bytes", int)
        limit = limit or results_byte_cap(uploaded_ids)
        ratio = self._positive_extra(connection, "max_compression_ratio", float) or MAX_COMPRESSION_RATIO
        progress = Progress(self.log, "Downloaded")
        what = f"download results of job {job.id}"
        transfer = {
            "what": what,
            "progress": progress,
            "job_id": job.id,
            "max_bytes": limit,
            "max_ratio": ratio,
        }
        if hasattr(destination, "write"):
            size = self.storage.download(job.download_url, destination, **transfer)
        else:
            with open(destination, "wb") as fh:
                size = self.storage.download(job.download_url, fh, **transfer)
        self.log.info("Download of job %s done: %s", job.id, progress.line())
        return DownloadReport(job.id, size, round(progress.seconds, 3))

    def _positive_extra(self, connection: Any, key: str, kind: type[int] | type[float]) -> Any:
        """A positive finite number from the connection's extra, or None when it is not set."""
        value = connection.extra_dejson.get(key)
        if value in (None, ""):
            return None
        try:
            number = kind(value)
        except (TypeError, ValueError):
            number = 0
        if not (math.isfinite(number) and number > 0):
            noun = "integer" if kind is int else "number"
            conn = self.x_compliance_conn_id
            raise XComplianceError(f"Connection {conn!r}: {key} must be a positive {noun}")
        return number


def _checked_id(job_id: Any) -> str:
    """Job ids are 1-19 digits (X's own pattern): refuse anything else before it reaches a URL."""
    text = str(job_id).strip()
    if (problem := id_problem(text)) is not None:
        raise InvalidRequestError(f"{str(job_id)[:40]!r} is not a compliance job id ({problem})")
    return text
