"""The emulator's state, shared by the HTTP handlers, the admin API and in-process tests.

It owns the clock, jobs, rate-limit windows, faults, stats and the results worker, and holds
the few operations that span them (an upload finishing, a reset, the fate of an ID).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from x_compliance_emulator.api.ratelimit import RateLimiter
from x_compliance_emulator.jobs.job import Job
from x_compliance_emulator.jobs.store import JobStore
from x_compliance_emulator.runtime.clock import Clock
from x_compliance_emulator.runtime.config import EmulatorConfig
from x_compliance_emulator.runtime.faults import CORRUPTIONS, FaultQueue
from x_compliance_emulator.runtime.stats import Stats
from x_compliance_emulator.storage.signing import Signer
from x_compliance_emulator.world.fates import Churn, FateModel, FateSchedule
from x_compliance_emulator.world.processing import Processor
from x_compliance_emulator.world.results import LineDetails

JOB_TYPES = ("tweets", "users")


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._own_data_dir = config.data_dir is None
        self.data_dir = (
            Path(tempfile.mkdtemp(prefix="x-compliance-emulator-"))
            if config.data_dir is None
            else config.data_dir
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = Clock(self.data_dir / "clock.json")
        self.faults = FaultQueue()
        self._stats = Stats()
        self.limiter = RateLimiter()
        self.signer = Signer(config.seed)
        self.store = JobStore(self.signer, self.data_dir)
        self.processor = Processor(self.store.lock, on_published=self.store.save)
        self.schedules = {job_type: FateSchedule() for job_type in JOB_TYPES}
        for job in self.store.unfinished():
            self._process(job, job.upload_generation)

    # -- inspection, for tests and the admin API -------------------------------------------

    @property
    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    @property
    def counters(self) -> Stats:
        return self._stats

    def jobs(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        return [job.record(now) for job in self.store.all()]

    def fate_model(self, job_type: str, at: float | None = None) -> FateModel:
        """Fates of a type as of emulator time ``at`` (default: now on the emulator's clock)."""
        if job_type not in JOB_TYPES:
            raise ValueError(f"job type must be one of {JOB_TYPES}, not {job_type!r}")
        c = self.config
        when = self.clock.now() if at is None else at
        churn = Churn(c.churn_rate, c.churn_at)
        return FateModel(
            c.seed, job_type, c.rates(job_type), c.world_file, self.schedules[job_type], when, churn
        )

    def fate(self, job_type: str, tweet_or_user_id: int | str, at: float | None = None) -> str | None:
        """The reason a job of that type uploaded at emulator time ``at`` (default now) gives the
        ID; None when compliant."""
        return self.fate_model(job_type, at).reason(int(tweet_or_user_id))

    def schedule_fate(self, job_type: str, record_id: int | str, reason: str | None, at: float) -> None:
        """From emulator time ``at`` on, ``record_id`` has fate ``reason`` (None: compliant again)."""
        if job_type not in JOB_TYPES:
            raise ValueError(f"job type must be one of {JOB_TYPES}, not {job_type!r}")
        self.schedules[job_type].add(int(record_id), reason, at)

    def reset(self) -> None:
        """Forget jobs, windows, faults, scheduled fates and stats (the clock keeps its time: it
        only moves forward)."""
        self.processor.forget_all()
        for schedule in self.schedules.values():
            schedule.clear()
        self.store.clear()
        self.limiter.reset()
        self.faults.clear()
        self._stats.reset()
        # The signing key follows the seed, which a config patch may have changed.
        self.signer = Signer(self.config.seed)
        self.store.signer = self.signer
        shutil.rmtree(self.data_dir / "jobs", ignore_errors=True)

    # -- uploads ----------------------------------------------------------------------------

    def begin_upload(self, job: Job) -> int:
        """Reserve a file generation for one upload attempt and keep the job alive while it runs."""
        with self.store.lock:
            job.next_generation += 1
            job.uploads_in_flight += 1
            return job.next_generation

    def end_upload(self, job: Job) -> None:
        with self.store.lock:
            job.uploads_in_flight -= 1

    def finish_upload(self, job: Job, generation: int) -> bool:
        """Publish a fully received file as the job's upload; False when X already read an earlier one."""
        now = self.clock.now()
        config = self.config
        with self.store.lock:
            if not job.accepts_upload(now):
                job.upload_path(generation).unlink(missing_ok=True)
                return False
            previous = job.upload_generation
            job.upload_generation = generation
            if previous and previous != generation:
                job.upload_path(previous).unlink(missing_ok=True)
            fault = self.faults.take(("fail_job",), "upload", job.id)
            if fault is not None:
                job.forced_error = fault.error or "Job processing failed"
            corrupt = self.faults.take(("corrupt_results",), "upload", job.id)
            if corrupt is not None:
                job.corruption = corrupt.error or CORRUPTIONS[0]
            job.uploaded_at = now
            job.processing_starts_at = now + config.created_lag_seconds
            job.processing_base = config.processing_seconds_base
            job.processing_per_million = config.processing_seconds_per_million
            job.processing_due_at = None
            job.results_ready = False
            job.error = None
            self.store.save(job)
        self._process(job, generation)
        return True

    def _process(self, job: Job, generation: int) -> None:
        config = self.config
        self.processor.submit(
            job,
            generation,
            self.fate_model(job.type, at=job.uploaded_at),  # fates as of the upload, also after a restart
            LineDetails(config.seed, job.type, config.duplicate_rate),
            config.blank_lines,
        )

    def close(self) -> None:
        self.processor.shutdown()
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
