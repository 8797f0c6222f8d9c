"""Apply a run's jobs to a dataset of files: a pandas task, file by file, journaled.

X's results are read and checked against what was uploaded, as in the warehouse
(:func:`~x_compliance.warehouse.flagged.read_flagged`, ``check_all_uploaded``). Only files
that may hold a flagged ID are opened (a twarc2 file's manifest, a Parquet row group's
statistics say so); each is changed whole or not at all by its format's apply, and its audit
rows go to the journal before it is swapped, or before a Delta table's one merge commits
(:mod:`~x_compliance.lake.journal`). The audit names, per change, the record, file, line,
change, X's reason, the job that asked for it and the run.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from x_compliance.files.sorted_ids import find_sorted
from x_compliance.lake.dataset import DataFormat, data_files
from x_compliance.lake.journal import AppliedRun, Journal, now_stamp, store_audit
from x_compliance.lake.verdicts import JOB_INDEX, Verdicts
from x_compliance.warehouse.flagged import check_all_uploaded, per_reason, read_flagged
from x_compliance.warehouse.tables import CASCADE_DELETED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FilesJob:
    """One X job of a run: its id and type, its results and the IDs uploaded to it (``ids``:
    how many, when known)."""

    job_id: str
    job_type: str
    results_path: Any
    ids_path: Any
    ids: int | None = None


class RunVerdicts:
    """Every job's flagged records, by type, and which job flagged each (kept as the sorted
    arrays of :class:`~x_compliance.lake.verdicts.Verdicts`, a job's index beside each ID);
    of each job, how many results it had and how many per reason."""

    def __init__(self, jobs: list[FilesJob]) -> None:
        flagged: dict[str, list[pd.DataFrame]] = {"tweets": [], "users": []}
        self.job_ids = np.array([job.job_id for job in jobs], dtype=object)
        self.counted: dict[str, tuple[int, dict[str, int]]] = {}
        for at, job in enumerate(jobs):
            frame = read_flagged(job.results_path, job_id=job.job_id, cascades=job.job_type == "users")
            check_all_uploaded(frame, job.ids_path, job_id=job.job_id)
            self.counted[job.job_id] = (len(frame), per_reason(frame) if len(frame) else {})
            flagged[job.job_type].append(frame.assign(job=np.full(len(frame), at, JOB_INDEX)))
        frames = {
            t: pd.concat(f, ignore_index=True) if len(f) > 1 else next(iter(f), None)
            for t, f in flagged.items()
        }
        self.verdicts = Verdicts(posts=frames["tweets"], users=frames["users"])
        self.users_jobs = sorted(job.job_id for job in jobs if job.job_type == "users")
        self.types = {job.job_id: job.job_type for job in jobs}

    def flagged_of(self, job_id: str) -> tuple[int, dict[str, int]]:
        """How many records job ``job_id`` flagged, and how many per reason."""
        return self.counted[job_id]

    def per_reason(self) -> dict[str, dict[str, int]]:
        totals: dict[str, Counter[str]] = {"tweets": Counter(), "users": Counter()}
        for job_id, (_, reasons) in self.counted.items():
            totals[self.types[job_id]].update(reasons)
        return {t: dict(sorted(c.items())) for t, c in totals.items()}

    def jobs_of(self, audit: pd.DataFrame) -> pd.Series:
        """The job behind each audit row: the one that flagged the record, and for a Post that
        went with its author, the users job (the users jobs, when a run had several)."""
        jobs = pd.Series(",".join(self.users_jobs), index=audit.index, dtype="object")
        for kind, records in (("post", self.verdicts.posts), ("user", self.verdicts.users)):
            own = ((audit["kind"] == kind) & (audit["change"] != CASCADE_DELETED)).to_numpy(bool)
            if len(records.ids) and own.any():
                at, _ = find_sorted(records.ids, audit["record_id"].to_numpy(np.int64)[own])  # all flagged
                jobs[own] = self.job_ids[records.jobs[at]]
        return jobs


def apply_jobs_to_files(
    root: Any,
    data: DataFormat,
    jobs: list[FilesJob],
    *,
    run_id: str,
    audit_conn_id: str | None = None,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply every job of a run to the dataset under ``root``; return what changed. The audit
    goes beside the dataset, or to the warehouse of ``audit_conn_id`` (see ``store_audit``),
    with the run's ``scope`` (what it checked) in its jobs' ``compliance_runs`` rows."""
    return apply_run(
        root, data, RunVerdicts(jobs), jobs, run_id=run_id, audit_conn_id=audit_conn_id, scope=scope
    )


def apply_run(
    root: Any, data: DataFormat, run: RunVerdicts, jobs: list[FilesJob], *, run_id: str,
    audit_conn_id: str | None = None, scope: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """:func:`apply_jobs_to_files` with the jobs' verdicts already read (``run``)."""
    key = "-".join(sorted(job.job_id for job in jobs))
    journal = Journal(root, key)
    flagged = run.verdicts.flagged_ids()
    checked = rewritten = 0
    for path in data_files(root, data):
        checked += 1
        if not data.holds_any(path, flagged):
            continue

        def journaled(audit: pd.DataFrame, path: Any = path) -> None:
            journal.record(
                path, audit.assign(job_id=run.jobs_of(audit), run_id=run_id, changed_at=now_stamp())
            )

        audit = data.apply(path, run.verdicts, before_swap=journaled, tag=key)
        if len(audit):
            rewritten += 1
            log.info("Rewrote %s: %s", path, _counts(audit))
        del audit
    location, added = store_audit(
        root, journal, key, applied=AppliedRun(jobs, run, run_id, scope=scope), conn_id=audit_conn_id
    )
    summary = {
        "jobs": [job.job_id for job in jobs],
        "files": checked,
        "files_rewritten": rewritten,
        "audit_rows": added,
        "audit_path": str(location),
        "flagged_per_reason": run.per_reason(),
    }
    log.info(
        "Applied jobs %s to %d file(s) of %s: %d rewritten, %d audit rows in %s",
        ", ".join(summary["jobs"]), checked, root, rewritten, added, location,
    )  # fmt: skip
    return summary


def _counts(audit: pd.DataFrame) -> str:
    counts = audit.groupby(["change", "reason"], observed=True).size()
    return ", ".join(f"{change} ({reason}) {n}" for (change, reason), n in counts.items())
