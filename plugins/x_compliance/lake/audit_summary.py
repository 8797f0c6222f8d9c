"""What a files apply's audit says per job and per (job, change, reason), in the shapes the
Compliance page reads for a warehouse table: ``compliance_runs`` rows and audit segments
(:mod:`x_compliance.warehouse.runs`). The Parquet audit keeps them in its footer, the SQL audit
in those tables, so the page never reads the audit to count it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from x_compliance.warehouse.flagged import per_reason
from x_compliance.warehouse.runs import Segment, run_row
from x_compliance.warehouse.tables import CASCADE_DELETED, DELETED, GEO_SCRUBBED

# The audit's order: one job, change and reason after another (a segment each), then file and line.
SEGMENT_KEY = ["job_id", "change", "reason"]
AUDIT_ORDER = [*SEGMENT_KEY, "file", "line", "part", "record_id"]
TABLE_PREFIX = "files:"
NAME_LENGTH = 64  # compliance_runs.table_name


def public_root(root: Any) -> str:
    """``root`` as the page and the audit may show it: no login, password or query string (a
    signed URL's signature)."""
    parts = urlsplit(str(root))
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) if parts.scheme else parts.path


def dataset_name(root: Any) -> str:
    """The dataset's name where a warehouse table's would be: ``files:<root>``, its end and a
    hash of the whole when longer than a table name may be."""
    shown = public_root(root)
    name = TABLE_PREFIX + shown
    if len(name) <= NAME_LENGTH:
        return name
    digest = hashlib.sha256(shown.encode()).hexdigest()[:8]
    return f"{TABLE_PREFIX}…{shown[-(NAME_LENGTH - len(TABLE_PREFIX) - 10) :]}#{digest}"


def is_files_table(table: str) -> bool:
    return str(table).startswith(TABLE_PREFIX)


def segment_job(job_id: str) -> str:
    """The job a segment is listed under: a Post that went with its author names every users
    job of the run (which one flagged the author is not known); the first stands for them."""
    return str(job_id).split(",")[0]


def in_audit_order(audit: pd.DataFrame) -> pd.DataFrame:
    return audit.sort_values(AUDIT_ORDER, kind="stable", ignore_index=True)


def segments(audit: pd.DataFrame, table: str, applied_at: str, first_row: int = 0) -> Iterator[Segment]:
    """The segments of ``audit`` (in :func:`in_audit_order`), each a range of its positions
    from ``first_row``."""
    if not len(audit):
        return
    keys = audit[SEGMENT_KEY].assign(job_id=audit["job_id"].map(segment_job))
    start = 0
    for (job, change, reason), group in keys.groupby(SEGMENT_KEY, sort=False):
        n = len(group)
        run_id = str(audit["run_id"].iat[start])
        yield Segment(
            job, run_id, applied_at, table, change, reason, n, first_row + start, first_row + start + n - 1
        )
        start += n


def run_rows(
    jobs: list[Any], run: Any, audit: pd.DataFrame, *, table: str, run_id: str, applied_at: str,
    dag_id: str | None = None, scope: dict | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The ``compliance_runs`` row of each job: what X flagged (``run``'s frames) and what
    the audit says changed."""
    audit_jobs = audit["job_id"].map(segment_job) if len(audit) else pd.Series(dtype=object)
    rows = []
    for job in jobs:
        frame = run.frames.get(job.job_type)
        mine = frame[frame["job_id"] == job.job_id] if frame is not None else None
        changes = audit.loc[audit_jobs == job.job_id, "change"] if len(audit) else pd.Series(dtype=object)
        summary = {
            "job_id": job.job_id,
            "table": table,
            "results": 0 if mine is None else len(mine),
            "deleted": int((changes == DELETED).sum()),
            "geo_scrubbed": int((changes == GEO_SCRUBBED).sum()),
            "cascade_deleted": int((changes == CASCADE_DELETED).sum()),
            "flagged_per_reason": {} if mine is None or not len(mine) else per_reason(mine),
        }
        downloaded = {"job_type": job.job_type}
        rows.append(
            run_row(
                summary,
                dag_id=dag_id,
                run_id=run_id,
                applied_at=applied_at,
                ids_sent=job.ids,
                downloaded=downloaded,
                scope=scope,
            )
        )
    return rows
