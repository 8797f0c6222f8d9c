"""What a files apply's audit says per job and per (job, change, reason), in the shapes the
Compliance page reads for a warehouse table: ``compliance_runs`` rows and audit segments
(:mod:`x_compliance.warehouse.runs`). The Parquet audit keeps them in its footer, the SQL audit
in those tables, so the page never reads the audit to count it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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


class AuditTally:
    """The segments of an audit read in audit order (each a range of its positions from
    ``first_row``) and how many rows each job changed how, counted group by group."""

    def __init__(self, table: str, applied_at: str, first_row: int = 0) -> None:
        self.table, self.applied_at, self.rows = table, applied_at, first_row
        self.segments: list[Segment] = []
        self.changes: Counter[tuple[str, str]] = Counter()

    def add(self, key: tuple[str, str, str], rows: int, run_id: str) -> Segment:
        """Count ``rows`` more rows of ``key`` (job, change, reason); returns their segment."""
        job, change, reason = segment_job(key[0]), key[1], key[2]
        last = self.segments[-1] if self.segments else None
        if last is not None and (last.job_id, last.change, last.reason) == (job, change, reason):
            self.segments[-1] = replace(last, rows=last.rows + rows, last_row=last.last_row + rows)
        else:
            self.segments.append(Segment(job, run_id, self.applied_at, self.table, change, reason, rows,
                                         self.rows, self.rows + rows - 1))  # fmt: skip
        self.rows += rows
        self.changes[(job, change)] += rows
        return self.segments[-1]


def run_rows(
    jobs: list[Any], run: Any, changes: Counter[tuple[str, str]], *, table: str, run_id: str,
    applied_at: str, dag_id: str | None = None, scope: dict | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The ``compliance_runs`` row of each job: what X flagged (``run.flagged_of(job_id)``: its
    results and their count per reason) and what the audit says changed (``changes``: rows per
    job and change, as :class:`AuditTally` counts them)."""
    rows = []
    for job in jobs:
        results, per_reason = run.flagged_of(job.job_id)
        summary = {
            "job_id": job.job_id,
            "table": table,
            "results": results,
            "deleted": changes[(job.job_id, DELETED)],
            "geo_scrubbed": changes[(job.job_id, GEO_SCRUBBED)],
            "cascade_deleted": changes[(job.job_id, CASCADE_DELETED)],
            "flagged_per_reason": per_reason,
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
