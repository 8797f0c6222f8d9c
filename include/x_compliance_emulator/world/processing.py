"""Turn an uploaded ID file into a results file on a background thread, never on the event loop.

The worker streams the upload in chunks through the fate model into a ``.part`` file, then
publishes it; a job re-uploaded meanwhile, a reset or a shutdown makes the work stale and discarded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from x_compliance_emulator.jobs.job import Job
from x_compliance_emulator.world.fates import FateModel
from x_compliance_emulator.world.idfile import InvalidIdFile, iter_id_chunks
from x_compliance_emulator.world.results import LineDetails, write_results

log = logging.getLogger(__name__)
GENERIC_ERROR = "Job processing failed"


def corrupt_line(kind: str, upload: Path) -> bytes:
    """The line a corrupt_results fault appends: cut short, with an unknown reason for an ID that
    was uploaded, or for an ID that never was (``1`` is below any real snowflake)."""
    if kind == "malformed_line":
        return b'{"id":"1170025343920402432","action":"delete","reason":\n'
    if kind == "unknown_reason":
        with open(upload, "rb") as fh:
            first = next((line.strip() for line in fh if line.strip()), b"1")
        return (
            b'{"id":"%s","action":"delete","created_at":"2020-01-01T00:00:00.000Z","reason":"vanished"}\n'
            % first
        )
    return b'{"id":"1","action":"delete","created_at":"2010-11-04T01:42:54.657Z","reason":"deleted"}\n'


class Stale(Exception):
    """The work no longer matters: the job was re-uploaded, or the emulator reset or stopped."""


class Processor:
    def __init__(self, lock: threading.RLock, on_published: Callable[[Job], None]) -> None:
        self._lock = lock  # the job store's lock: job fields are read by the event loop
        self._on_published = on_published  # records the job's new state (the job store's save)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="x-compliance-results")
        self._epoch = 0
        self._stopping = threading.Event()

    def submit(
        self, job: Job, generation: int, fates: FateModel, details: LineDetails, blank_first: bool
    ) -> None:
        epoch = self._epoch
        self._pool.submit(self._run, job, generation, epoch, fates, details, blank_first)

    def forget_all(self) -> None:
        """Make every queued or running piece of work stale (emulator reset)."""
        self._epoch += 1

    def shutdown(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _is_stale(self, job: Job, generation: int, epoch: int) -> bool:
        return self._stopping.is_set() or epoch != self._epoch or job.upload_generation != generation

    def _guarded(
        self, chunks: Iterator[np.ndarray], job: Job, generation: int, epoch: int
    ) -> Iterator[np.ndarray]:
        for ids in chunks:
            if self._is_stale(job, generation, epoch):
                raise Stale
            yield ids

    def _run(
        self, job: Job, generation: int, epoch: int, fates: FateModel, details: LineDetails, blank_first: bool
    ) -> None:
        part = job.directory / f"results-{generation}.part"
        count, error = 0, job.forced_error
        try:
            if error is None:
                with open(part, "wb") as out:
                    chunks = self._guarded(
                        iter_id_chunks(job.upload_path(generation)), job, generation, epoch
                    )
                    count = write_results(out, chunks, fates, details, blank_first)
                    if job.corruption:
                        out.write(corrupt_line(job.corruption, job.upload_path(generation)))
        except Stale:
            part.unlink(missing_ok=True)
            return
        except InvalidIdFile as exc:
            error = str(exc)
        except Exception:
            if self._is_stale(job, generation, epoch):
                return  # e.g. a reset removed the job's directory under us
            log.exception("processing job %s failed", job.id)
            error = GENERIC_ERROR
        self._publish(job, generation, epoch, part, count, error)

    def _publish(
        self, job: Job, generation: int, epoch: int, part: Path, count: int, error: str | None
    ) -> None:
        with self._lock:
            if self._is_stale(job, generation, epoch):
                part.unlink(missing_ok=True)
                return
            if error is None:
                part.replace(job.results_path)
            else:
                part.unlink(missing_ok=True)
            assert job.processing_starts_at is not None
            job.ids_uploaded = count if error is None else None
            job.error = error
            # Processing time grows with the number of IDs, like the real service's.
            job.processing_due_at = (
                job.processing_starts_at + job.processing_base + job.processing_per_million * count / 1e6
            )
            job.results_ready = True
            self._on_published(job)
            # X has read the file and nothing reads it again (a re-upload is a new generation):
            # an emulator left running keeps no 200 MB per 10M-ID job it no longer needs.
            job.upload_path(generation).unlink(missing_ok=True)
