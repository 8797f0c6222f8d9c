"""The compliance cycle's steps as plain functions over a hook: create, upload, download.

Each step operator is a thin shell over one of these, and ``XComplianceJobOperator`` chains
the same functions, so there is one copy of each step's logic. Every step is safe to retry:
it looks at the job's state on X before acting.

The steps join the two halves of the provider, which never import each other this way round:
``files/`` reads, checks and writes files, the hook speaks HTTP. The upload is
:func:`upload_ids`: validate the ID file (``files/``), then send what validation hands over
(the hook). The download is :func:`publish_results`: fetch the raw results (the hook), parse
them to Parquet and publish that (``files/``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from x_compliance.exceptions import (
    ConflictError,
    JobExpiredError,
    ReplacementBlockedError,
    UploadUrlExpiredError,
    XComplianceError,
)
from x_compliance.files.id_files import count_ids, validated_id_file
from x_compliance.files.normalize import write_results_parquet
from x_compliance.files.storage_paths import as_storage_path, publish
from x_compliance.hooks.jobs import ComplianceJob, JobStatus, JobType
from x_compliance.hooks.run_budget import WaitPlan
from x_compliance.hooks.storage import DEFAULT_CHUNK_SIZE
from x_compliance.hooks.wait_report import now_iso
from x_compliance.hooks.watch import JobWatch
from x_compliance.hooks.x_compliance import UploadReport, XComplianceHook
from x_compliance.operators.naming import next_name

log = logging.getLogger(__name__)

# How many new jobs an upload creates by default when upload windows lapse, before it gives up.
MAX_NEW_JOBS = 2


def find_active_job(hook: XComplianceHook, job_type: JobType | str) -> ComplianceJob | None:
    """The job of a type that holds X's slot (created or in progress), if any."""
    for job in hook.list_jobs(job_type):
        if job.status.is_active():
            return job
    return None


def find_own_job(
    hook: XComplianceHook, job_type: JobType | str, name: str, *, now: datetime | None = None
) -> ComplianceJob | None:
    """The job an earlier try of this task created: active, or complete with results still
    downloadable (X keeps them 7 days).

    A complete one counts because a try can fail after X finished its job (a worker lost
    while the task resumes from its deferral, say); the retry must then download that job's
    results, not send the same IDs in a second job.
    """
    now = now or datetime.now(UTC)
    for job in hook.list_jobs(job_type):
        if job.name != name:
            continue
        if job.status.is_active() or (job.status is JobStatus.COMPLETE and job.download_expires_at > now):
            return job
    return None


def create_or_reuse(
    hook: XComplianceHook, job_type: JobType | str, name: str, resumable: bool
) -> ComplianceJob:
    """Reuse this task's own job from an earlier try (``find_own_job``), or create one.

    Raises ``ConflictError`` when another job of the type holds the slot; callers wait for it.
    """
    mine = find_own_job(hook, job_type, name)
    if mine is not None:
        log.info("Reusing %s created by an earlier try of this task", mine.describe())
        return mine
    try:
        return hook.create_job(job_type, name=name, resumable=resumable)
    except ConflictError:
        # The create may have reached X with its answer lost on the way back (a dropped
        # connection, then our own retry): then the job holding the slot is ours.
        mine = find_own_job(hook, job_type, name)
        if mine is None:
            raise
        log.info("Reusing %s: X created it but its answer was lost", mine.describe())
        return mine


def _replacement(hook: XComplianceHook, lapsed: ComplianceJob, new_jobs_left: int) -> ComplianceJob:
    """A new job for the IDs a lapsed job never got, found again if an earlier try made it."""
    name = next_name(lapsed.name or f"replaces-{lapsed.id}")
    try:
        return create_or_reuse(hook, lapsed.type, name, lapsed.resumable)
    except ConflictError as busy:
        raise ReplacementBlockedError(
            f"{lapsed.describe()} lapsed and another {lapsed.type} job holds X's slot, so its replacement "
            f"{name!r} could not be created yet",
            name=name,
            new_jobs_left=new_jobs_left,
        ) from busy


def upload(
    hook: XComplianceHook, job: ComplianceJob | str, ids_path: Any, *, max_new_jobs: int = 0
) -> dict[str, Any]:
    """Upload the IDs to the job, unless an earlier try already did.

    ``job`` is the job as create or list just returned it (its signed upload URL with it), or its
    id: then it is read again, so that the URL never has to travel through XCom. When an
    earlier try uploaded, ``ids`` is counted from the file (None if it is gone). A job
    whose upload window passed is replaced by a new job (``x~1``, then ``x~2``...), at most
    ``max_new_jobs`` times; the id of the job that got the IDs is returned as ``job_id``. Past
    that (at once with 0) the lapse is raised: a new job is needed. When another job holds X's
    slot, ``ReplacementBlockedError`` names the replacement to create once the slot is free.
    """
    if not isinstance(job, ComplianceJob):
        job = hook.get_job(job)
    new_jobs_left = max_new_jobs
    while True:
        if job.status in (JobStatus.IN_PROGRESS, JobStatus.COMPLETE):
            log.info("%s already has its IDs (an earlier try uploaded them): nothing to do", job.describe())
            return {
                "job_id": job.id,
                "ids": count_ids(ids_path),
                "bytes": None,
                "already_uploaded": True,
                "uploaded_at": None,
            }
        try:
            if job.status is JobStatus.EXPIRED:
                raise JobExpiredError(job.id)
            job.raise_for_status()
            report = upload_ids(hook, job, ids_path)
            return {
                "job_id": job.id,
                "ids": report.ids,
                "bytes": report.bytes,
                "seconds": report.seconds,
                "uploaded_at": now_iso(),
            }
        except (JobExpiredError, UploadUrlExpiredError) as lapsed:
            if new_jobs_left <= 0:
                raise
            new_jobs_left -= 1
            log.warning("%s. Creating a new job for these IDs (%d more allowed)", lapsed, new_jobs_left)
            job = _replacement(hook, job, new_jobs_left)


def upload_ids(
    hook: XComplianceHook, job: ComplianceJob, ids_path: Any, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> UploadReport:
    """Check every line of ``ids_path`` once, then stream the file to ``job``.

    A bad line raises ``InvalidIdError`` naming file and line before a byte is sent. What is
    sent is the file itself, or its normalized copy (removed once sent or failed) when some
    line needed it (:func:`~x_compliance.files.id_files.validated_id_file`).
    """
    with validated_id_file(ids_path, job_id=job.id) as ids:
        return hook.upload_file(job, ids, chunk_size=chunk_size)


def download(
    hook: XComplianceHook,
    job: ComplianceJob | str,
    results_path: Any,
    *,
    wait_report: dict[str, Any] | None = None,
    uploaded_ids: int | None = None,
    ids_path: Any = None,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """Download the job's results and write them, normalized, to ``results_path`` atomically.

    ``job`` is the complete job as a status call just returned it (its signed download URL with
    it), or its id: then it is read again, within the status headers the wait saw last (the wait
    report's ``status_limit``). The download is capped at ``max_bytes`` or, by default, from the
    IDs uploaded (given, or bounded from the size of ``ids_path``: an ID line is at least 2
    bytes). The summary carries the job's creation time and the wait's report (status calls, X's
    processing time) on to the apply step, which records them in ``compliance_runs``.
    """
    if not isinstance(job, ComplianceJob):
        hook.knows_status_limit((wait_report or {}).get("status_limit"))
        job = hook.get_job(job)
    job.raise_for_status()
    if job.status is not JobStatus.COMPLETE:
        raise XComplianceError(f"{job.describe()} is not complete yet: wait for it before downloading")
    if not uploaded_ids and ids_path is not None:
        try:
            uploaded_ids = as_storage_path(ids_path).stat().st_size // 2
        except OSError:  # the ID file is gone: the cap for an unknown count applies
            log.info("Cannot size the download cap from %s: it is gone", ids_path)
    summary = publish_results(hook, job, results_path, max_bytes=max_bytes, uploaded_ids=uploaded_ids)
    return {**summary, "job_created_at": job.created_at.isoformat(), "wait": wait_report}


def publish_results(
    hook: XComplianceHook,
    job: ComplianceJob,
    results_path: Any,
    *,
    max_bytes: int | None = None,
    uploaded_ids: int | None = None,
) -> dict[str, Any]:
    """Download the results of ``job``, parse them to Parquet and publish that at
    ``results_path`` all at once; return a small XCom-safe summary.

    Both scratch files live in one temporary folder that is removed however the step ends.
    """
    with tempfile.TemporaryDirectory(prefix=f"x-compliance-{job.id}-") as scratch:
        raw = Path(scratch) / "results.jsonl"
        report = hook.download_results(job, raw, max_bytes=max_bytes, uploaded_ids=uploaded_ids)
        parquet = Path(scratch) / "results.parquet"
        counts = write_results_parquet(raw, parquet, job_id=job.id)
        destination = publish(parquet, results_path)
    rows = sum(counts.values())
    log.info(
        "Job %s: %s non-compliant IDs (%s) written to %s",
        job.id,
        f"{rows:,}",
        ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items())) or "none",
        destination,
    )
    return {
        "job_id": job.id,
        "job_type": job.type.value,
        "path": str(destination),
        "rows": rows,
        "counts": dict(sorted(counts.items())),
        "downloaded_bytes": report.bytes,
    }


def wait(
    hook: XComplianceHook,
    job_id: str,
    *,
    poll_interval: float,
    max_poll_interval: float,
    deadline: float,
    plan: WaitPlan | None = None,
) -> tuple[ComplianceJob, int]:
    """Block until the job is complete (the non-deferred wait); return it and the number of status
    calls made. Raises when it failed or expired, when a status call fails for good, and
    ``WaitTimeoutError`` at ``deadline``.

    Each call's outcome goes to :class:`~x_compliance.hooks.watch.JobWatch`, the rule the deferred
    wait (:class:`~x_compliance.triggers.job.XComplianceJobTrigger`) follows too: the first pause is
    ``poll_interval``, pauses grow with the wait up to ``max_poll_interval`` and stretch when X's
    rate-limit headers ask for it, and an unreachable X is ridden out until ``deadline``. With a
    ``plan``, the first call comes when X is likely done.
    """
    watch = JobWatch(
        log,
        job_id,
        poll_interval=poll_interval,
        max_poll_interval=max_poll_interval,
        deadline=deadline,
        plan=plan,
    )
    time.sleep(watch.first_pause())
    while True:
        try:
            outcome: ComplianceJob | BaseException = hook.get_job(job_id, once=True)
        except Exception as exc:
            outcome = exc
        step = watch.after(outcome, hook.status_rate_limit)
        job = step.complete_job()
        if job is not None:
            return job, watch.calls
        time.sleep(step.pause)
