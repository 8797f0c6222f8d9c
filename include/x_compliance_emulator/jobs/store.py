"""All jobs of the emulator: creation (ids, signed URLs, the one-job-per-type rule) and lookups.

Jobs belong to the bearer token that created them; another token neither sees nor is blocked
by them. URLs are signed once here, so every later read returns the very same strings. Every
job is recorded in its folder under the data folder (``persistence``) and read back when a
store opens the same folder again, so a restarted emulator keeps its jobs, as X does.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from x_compliance_emulator.jobs.job import Job
from x_compliance_emulator.jobs.persistence import load_jobs, save_job
from x_compliance_emulator.runtime.config import EmulatorConfig
from x_compliance_emulator.storage.signing import Signer

TWITTER_EPOCH_MS = 1288834974657
BUCKETS = {"tweets": "twttr-tweet-compliance", "users": "twttr-user-compliance"}
UPLOAD_HEADERS = {"content-type": "text/plain"}


class ConflictError(Exception):
    """A job of this type is already active for this token."""


def owner_number(token: str) -> str:
    """The 19-digit number that prefixes object names (an app id in real URLs), stable per token."""
    digest = int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "big")
    return str(10**18 + digest % (9 * 10**18))


def storage_path(job_type: str, job_id: str, folder: str, object_name: str) -> str:
    return f"/storage/{BUCKETS[job_type]}/{job_id}/{folder}/{object_name}"


class JobStore:
    def __init__(self, signer: Signer, data_dir: Path) -> None:
        self.signer = signer
        self._data_dir = data_dir
        self._jobs: dict[str, Job] = {job.id: job for job in load_jobs(data_dir)}
        self._last_id = max(map(int, self._jobs), default=0)
        self.lock = threading.RLock()

    def _next_id(self, now: float) -> str:
        # Snowflake layout (ms since the Twitter epoch << 22 | sequence): 19 digits today,
        # increasing, and decodable to the creation time like real ids.
        candidate = (int(now * 1000) - TWITTER_EPOCH_MS) << 22
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def create(
        self,
        token: str,
        job_type: str,
        name: str | None,
        resumable: bool,
        now: float,
        base_url: str,
        config: EmulatorConfig,
    ) -> Job:
        with self.lock:
            self.drop_lapsed_files(now)
            if any(j.blocks_new_job(now, config.created_blocks) for j in self.of(token, job_type)):
                raise ConflictError(job_type)
            job_id = self._next_id(now)
            created_at = float(int(now))
            object_name = f"{owner_number(token)}_{job_id}"
            upload_window, download_window = (
                int(config.upload_window_seconds),
                int(config.download_window_seconds),
            )
            upload_url = self.signer.signed_url(
                base_url,
                storage_path(job_type, job_id, "submission", object_name),
                "POST" if resumable else "PUT",
                {**UPLOAD_HEADERS, "host": _host(base_url)},
                created_at,
                upload_window,
            )
            download_url = self.signer.signed_url(
                base_url,
                storage_path(job_type, job_id, "delivery", object_name),
                "GET",
                {"host": _host(base_url)},
                created_at,
                download_window,
            )
            directory = self._data_dir / "jobs" / job_id
            directory.mkdir(parents=True, exist_ok=True)
            job = Job(
                id=job_id,
                type=job_type,
                token=token,
                name=name,
                resumable=resumable,
                created_at=created_at,
                upload_expires_at=created_at + upload_window,
                download_expires_at=created_at + download_window,
                upload_url=upload_url,
                download_url=download_url,
                object_name=object_name,
                directory=directory,
            )
            save_job(job)
            self._jobs[job_id] = job
            return job

    def drop_lapsed_files(self, now: float) -> None:
        """Delete what no signed URL can reach any more, as GCS lets such objects go: results
        past their download URL's expiry, resumable sessions past their lifetime and never
        finished. Called as each job is created, so an emulator left running holds about a
        download window's worth of files, not every job it ever ran."""
        with self.lock:
            for job in self._jobs.values():
                if now > job.download_expires_at:  # the signed URL's own rule
                    job.results_path.unlink(missing_ok=True)
                for session in job.sessions.values():
                    if not session.done and now > session.expires_at:
                        session.path.unlink(missing_ok=True)

    def save(self, job: Job) -> None:
        """Record a job's changed state on disk; called after each transition."""
        with self.lock:
            save_job(job)

    def unfinished(self) -> list[Job]:
        """Uploaded jobs whose results were never written (the process stopped mid-way)."""
        with self.lock:
            return [j for j in self.all() if j.uploaded_at is not None and not j.results_ready]

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self._jobs.get(job_id)

    def owned(self, token: str, job_id: str) -> Job | None:
        job = self.get(job_id)
        return job if job is not None and job.token == token else None

    def of(self, token: str, job_type: str) -> list[Job]:
        """The token's jobs of one type, newest first."""
        with self.lock:
            jobs = [j for j in self._jobs.values() if j.token == token and j.type == job_type]
        return sorted(jobs, key=lambda j: int(j.id), reverse=True)

    def all(self) -> list[Job]:
        with self.lock:
            return sorted(self._jobs.values(), key=lambda j: int(j.id))

    def clear(self) -> None:
        with self.lock:
            self._jobs.clear()


def _host(base_url: str) -> str:
    return base_url.split("://", 1)[-1].rstrip("/")
