"""Apply a job's results to the warehouse: remove flagged rows, scrub geo, audit every change.

A pandas task: each job's results are read into a DataFrame in batches and pandas decides what
each record asks (:mod:`~x_compliance.warehouse.flagged`); the flagged records are staged in a
temporary table by the warehouse's fastest route (:mod:`~x_compliance.warehouse.stage`), and
set-based SQL joins against it make the changes, so the table itself never has to fit in
memory. All of it happens in one transaction on one connection: a failure anywhere rolls
everything back, so the table is either exactly right or exactly as it was. Applying the same
results twice changes nothing the second time (rows already gone or already scrubbed are not
touched or audited again). Each job's audit rows are written one reason at a time and where
they went is recorded (``compliance_audit_segments``), so the Compliance page never searches
the audit.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from x_compliance.exceptions import XComplianceError
from x_compliance.hooks.progress import duration
from x_compliance.warehouse.flagged import (
    NOTHING_APPLIED,
    check_all_uploaded,
    flagged_digest,
    per_reason,
    read_flagged,
)
from x_compliance.warehouse.runs import (
    RUNS_DDL,
    SEGMENTS_DDL,
    Segment,
    asset_extra,
    describe_run,
    earlier_applies,
    last_rowid_reader,
    record_run,
    record_segments,
    run_row,
)
from x_compliance.warehouse.stage import ApplyConnection
from x_compliance.warehouse.tables import (
    AUDIT_TABLE,
    CASCADE_DELETED,
    DELETED,
    GEO_SCRUBBED,
    REMOVE,
    SCRUB,
    ComplianceTable,
)

log = logging.getLogger(__name__)

AUDIT_DDL = f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
    record_id   BIGINT NOT NULL,
    table_name  VARCHAR(64) NOT NULL,
    change      VARCHAR(32) NOT NULL,
    reason      VARCHAR(32) NOT NULL,
    job_id      VARCHAR(19) NOT NULL,
    run_id      VARCHAR(250) NOT NULL,
    changed_at  VARCHAR(32) NOT NULL
)"""

AUDIT_COLUMNS = "record_id, table_name, change, reason, job_id, run_id, changed_at"


def _step(
    change: str,
    target: str,
    *,
    id_col: str,
    link_col: str,
    flagged: str,
    where: str,
    ph: str,
    set_nulls: tuple[str, ...] = (),
) -> tuple[str, str, str]:
    """(label, audit ``INSERT ... SELECT``, change statement) for one kind of change.

    The audit reads exactly the rows the change will touch (same join, same filter), which is
    what lets :func:`apply_results` check that both counts agree.
    """
    only_set = " OR ".join(f"{{p}}{c} IS NOT NULL" for c in set_nulls)
    audit = (
        f"INSERT INTO {AUDIT_TABLE} ({AUDIT_COLUMNS}) "
        f"SELECT t.{id_col}, '{target}', '{change}', f.reason, {ph}, {ph}, {ph} "
        f"FROM {target} t JOIN {flagged} f ON t.{link_col} = f.id WHERE {where}"
    )
    selected = f"{link_col} IN (SELECT f.id FROM {flagged} f WHERE {where})"
    if set_nulls:
        audit += " AND (" + only_set.format(p="t.") + ")"
        nulls = ", ".join(f"{c} = NULL" for c in set_nulls)
        statement = f"UPDATE {target} SET {nulls} WHERE {selected} AND (" + only_set.format(p="") + ")"
    else:
        statement = f"DELETE FROM {target} WHERE {selected}"
    return f"{change}:{target}", audit, statement


def _statements(table: ComplianceTable, flagged: str, ph: str) -> list[tuple[str, str, str]]:
    """Every change in the order it must run: cascades first, then removals, then scrubs. Which
    records are removed, scrubbed or cascade was decided by pandas, staged as ``change`` and
    ``cascades`` (:func:`~x_compliance.warehouse.flagged.decide`)."""
    removed = f"f.change = '{REMOVE}'"
    common = {"flagged": flagged, "ph": ph}
    steps = [
        _step(CASCADE_DELETED, c.table, id_col=c.id_column, link_col=c.column, where="f.cascades", **common)
        for c in table.cascades
    ]
    own = {"id_col": table.id_column, "link_col": table.id_column, **common}
    steps.append(_step(DELETED, table.name, where=removed, **own))
    if table.geo_columns:
        steps.append(
            _step(GEO_SCRUBBED, table.name, where=f"f.change = '{SCRUB}'", set_nulls=table.geo_columns, **own)
        )
    return steps


def apply_results(
    sql_hook: Any,
    table: ComplianceTable,
    results_path: Any,
    *,
    ids_path: Any,
    job_id: str,
    run_id: str,
    scope: dict | None = None,
    downloaded: dict[str, Any] | None = None,
    dag_id: str | None = None,
    ids_sent: int | None = None,
) -> dict[str, Any]:
    """Apply one job's results in one transaction; return counts of what changed, per change and reason."""
    job = JobResults(job_id, results_path, ids_path, downloaded=downloaded, ids_sent=ids_sent)
    (summary,) = apply_jobs(sql_hook, table, [job], run_id=run_id, scope=scope, dag_id=dag_id)
    return summary


@dataclass(frozen=True)
class JobResults:
    """One X job of a run: its id, its results and the IDs uploaded to it."""

    job_id: str
    results_path: Any
    ids_path: Any
    downloaded: dict[str, Any] | None = None  # the download step's summary, with the wait's report
    ids_sent: int | None = None


def apply_jobs(
    sql_hook: Any,
    table: ComplianceTable,
    jobs: list[JobResults],
    *,
    run_id: str,
    scope: dict | None = None,
    dag_id: str | None = None,
) -> list[dict[str, Any]]:
    """Apply every job of a run in ONE transaction (a run split into several jobs is applied
    whole or not at all); each audit row names its job, and each job gets its
    ``compliance_runs`` row (:mod:`x_compliance.warehouse.runs`) in the same transaction. Every
    results file is read and checked against its upload before anything changes. Returns one
    summary per job, with its one-line ``summary`` and its asset event ``asset_extra``.

    Only one job's flagged records are in memory at a time: each file is checked first and its
    digest kept, then read again when its job is staged, and refused if it changed between.
    """
    digests = [_checked_digest(job, table) for job in jobs]
    changed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    summaries = []
    with closing(ApplyConnection(sql_hook)) as warehouse:
        conn, ph = warehouse.conn, warehouse.placeholder
        with closing(warehouse.cursor()) as cur:
            cur.execute(AUDIT_DDL)
            cur.execute(RUNS_DDL)
            cur.execute(SEGMENTS_DDL)
            conn.commit()
        last_rowid = last_rowid_reader(sql_hook, conn)
        try:
            with closing(warehouse.cursor()) as cur:
                for number, (job, digest) in enumerate(zip(jobs, digests, strict=True), 1):
                    started = time.monotonic()
                    flagged = _read_checked(job, table, digest)
                    stage = warehouse.stage(cur, flagged)
                    staged = time.monotonic()
                    counts = {"results": len(flagged), "flagged_per_reason": per_reason(flagged)}
                    reasons = _reasons_per_change(flagged)
                    del flagged  # staged: its memory goes back before the SQL runs
                    pa.default_memory_pool().release_unused()
                    changes, segments = _change(
                        cur, table, stage, reasons, job_id=job.job_id, run_id=run_id, at=changed_at, ph=ph,
                        last_rowid=last_rowid,
                    )  # fmt: skip
                    log.info(
                        "Job %d of %d (%s): %s results staged in %s, %s rows audited and changed in %s",
                        number, len(jobs), job.job_id, f"{counts['results']:,}", duration(staged - started),
                        f"{sum(changes.values()):,}", duration(time.monotonic() - staged),
                    )  # fmt: skip
                    summary = _summary(table, job.job_id, counts, changes)
                    row = run_row(
                        summary,
                        dag_id=dag_id,
                        run_id=run_id,
                        applied_at=changed_at,
                        ids_sent=job.ids_sent,
                        downloaded=job.downloaded,
                        scope=scope,
                    )
                    with closing(conn.cursor()) as query:
                        earlier = earlier_applies(query, ph, job.job_id)
                    record_run(cur, ph, row)
                    record_segments(cur, ph, segments)
                    summaries.append(
                        {**summary, "summary": describe_run(row, earlier), "asset_extra": asset_extra(row)}
                    )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    for summary in summaries:
        log.info("Applied %s", summary["summary"])
    return summaries


def _read(job: JobResults, table: ComplianceTable) -> pd.DataFrame:
    return read_flagged(job.results_path, job_id=job.job_id, cascades=bool(table.cascades))


def _checked_digest(job: JobResults, table: ComplianceTable) -> str:
    """Read a job's results, check them against its upload, and return their digest."""
    flagged = _read(job, table)
    check_all_uploaded(flagged, job.ids_path, job_id=job.job_id)
    return flagged_digest(flagged)


def _read_checked(job: JobResults, table: ComplianceTable, digest: str) -> pd.DataFrame:
    """A job's results read again for staging: exactly what :func:`_checked_digest` checked."""
    flagged = _read(job, table)
    if flagged_digest(flagged) != digest:
        raise XComplianceError(
            f"job {job.job_id}: {job.results_path} changed while the run was being applied; {NOTHING_APPLIED}"
        )
    return flagged


def _reasons_per_change(flagged: pd.DataFrame) -> dict[str, list[str]]:
    """The reasons each kind of change can audit: those of the records staged for it."""
    staged = {
        DELETED: flagged["change"] == REMOVE,
        GEO_SCRUBBED: flagged["change"] == SCRUB,
        CASCADE_DELETED: flagged["cascades"].astype(bool),
    }
    return {change: sorted(map(str, flagged.loc[rows, "reason"].unique())) for change, rows in staged.items()}


def _change(
    cur: Any,
    table: ComplianceTable,
    flagged: str,
    reasons: dict[str, list[str]],
    *,
    job_id: str,
    run_id: str,
    at: str,
    ph: str,
    last_rowid: Callable[[], int] | None,
) -> tuple[Counter[str], list[Segment]]:
    """Audit and change exactly the rows of one job's staged IDs, then drop the stage. The audit
    is written one reason at a time, so that each (table, change, reason) is one segment; on
    SQLite (``last_rowid``) one INSERT's rows take consecutive rowids, so a segment is a range."""
    changes: Counter[str] = Counter()
    segments = []
    for label, audit_sql, change_sql in _statements(table, flagged, ph):
        change, target = label.split(":")
        audited = 0
        for reason in reasons[change]:
            cur.execute(f"{audit_sql} AND f.reason = {ph}", (job_id, run_id, at, reason))
            rows = cur.rowcount
            last = last_rowid() if last_rowid and rows else None
            first = None if last is None else last - rows + 1
            segments.append(Segment(job_id, run_id, at, target, change, reason, rows, first, last))
            audited += rows
        cur.execute(change_sql)
        if cur.rowcount != audited:
            raise XComplianceError(
                f"job {job_id}: {label} changed {cur.rowcount} rows but audited {audited}; rolled back"
            )
        changes[change] += audited
    cur.execute(f"DROP TABLE {flagged}")
    return changes, segments


def _summary(
    table: ComplianceTable, job_id: str, counts: dict[str, Any], changes: Counter[str]
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "table": table.name,
        "results": counts["results"],
        "deleted": changes[DELETED],
        "geo_scrubbed": changes[GEO_SCRUBBED],
        "cascade_deleted": changes[CASCADE_DELETED],
        "flagged_per_reason": counts["flagged_per_reason"],
    }
