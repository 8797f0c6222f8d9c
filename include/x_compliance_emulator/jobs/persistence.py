"""Jobs on disk: one ``job.json`` per job folder, written atomically, read back at start-up.

X never forgets a job, so an emulator started again on the same data folder must not either.
A job's record is rewritten whenever it changes state (created, upload session opened, upload
published, results written); the ID and results files already live in the job's folder. What
only lasts as long as a connection (an upload in flight) is not kept: a restart drops the
connection, and the client retries as it would against X.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from x_compliance_emulator.jobs.job import Job, UploadSession

RECORD = "job.json"
# Fields that describe a live connection, not the job.
TRANSIENT = frozenset({"uploads_in_flight"})
log = logging.getLogger(__name__)


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to a sibling temp file, fsync it and rename it over ``path``: all or nothing."""
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as out:
        json.dump(data, out, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def save_job(job: Job) -> None:
    record: dict[str, Any] = {}
    for f in dataclasses.fields(job):
        if f.name in TRANSIENT or f.name == "directory":
            continue
        record[f.name] = getattr(job, f.name)
    record["sessions"] = {
        sid: {"path": s.path.name, "expires_at": s.expires_at, "done": s.done, "persisted": s.persisted}
        for sid, s in job.sessions.items()
    }
    write_atomically(job.directory / RECORD, record)


def load_job(directory: Path) -> Job:
    record = json.loads((directory / RECORD).read_text(encoding="utf-8"))
    sessions = {
        sid: _session(sid, directory / s["path"], s["expires_at"], s["done"], s["persisted"])
        for sid, s in record.pop("sessions").items()
    }
    return Job(**record, directory=directory, sessions=sessions)


def load_jobs(data_dir: Path) -> Iterator[Job]:
    """Every job recorded under ``data_dir/jobs``; a folder without a record (a job being created
    when the process died, before it was ever answered) is skipped."""
    root = data_dir / "jobs"
    if not root.is_dir():
        return
    for directory in sorted(root.iterdir()):
        if (directory / RECORD).is_file():
            yield load_job(directory)
        else:
            log.warning("skipping %s: no %s", directory, RECORD)


def _session(session_id: str, path: Path, expires_at: float, done: bool, persisted: int) -> UploadSession:
    # An open session has persisted what reached its file, so a restart mid-chunk resumes
    # exactly where the bytes on disk end.
    if not done:
        persisted = path.stat().st_size if path.exists() else 0
    return UploadSession(id=session_id, path=path, expires_at=expires_at, persisted=persisted, done=done)
