"""Apply a job's results to the warehouse: remove flagged rows, scrub geo, audit every change.

All of it happens in one transaction on one connection: a failure anywhere rolls everything
back, so the table is either exactly right or exactly as it was. The results are read in
batches with pyarrow and staged in a temporary table; the changes are set-based SQL joins
against it, so a large partition never has to fit in memory. Applying the same results twice
changes nothing the second time (rows already gone or already scrubbed are not touched or
audited again).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from x_compliance.exceptions import XComplianceError
from x_compliance.files.results import KNOWN_REASONS
from x_compliance.warehouse.flagged import Flagged, check_all_uploaded, read_results
from x_compliance.warehouse.runs import RUNS_DDL, asset_extra, describe_run, record_run, run_row
from x_compliance.warehouse.tables import (
    AUDIT_TABLE,
    CASCADE_REASONS,
    REMOVE,
    SCRUB,
    ComplianceTable,
)

log = logging.getLogger(__name__)

FLAGGED_COLUMNS = "id BIGINT PRIMARY KEY, reason VARCHAR(32), change VARCHAR(8)"
# SQLite's INTEGER PRIMARY KEY is the row's own 64-bit key, not a second b-tree beside it:
# staging 850k results took 0.74 s instead of 0.97 s (INTEGER is 32-bit elsewhere, so BIGINT).
SQLITE_FLAGGED_COLUMNS = "id INTEGER PRIMARY KEY, reason VARCHAR(32), change VARCHAR(8)"
AUDIT_DDL = f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
    record_id   BIGINT NOT NULL,
    table_name  VARCHAR(64) NOT NULL,
    change      VARCHAR(32) NOT NULL,
    reason      VARCHAR(32) NOT NULL,
    job_id      VARCHAR(19) NOT NULL,
    run_id      VARCHAR(250) NOT NULL,
    changed_at  VARCHAR(32) NOT NULL
)"""


_CSV_ROWS = pa_csv.WriteOptions(include_header=False)
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
    """Every change in the order it must run: cascades first, then removals, then scrubs."""
    removed = f"f.change = '{REMOVE}'"
    cascading = removed + " AND f.reason IN (" + ", ".join(f"'{r}'" for r in sorted(CASCADE_REASONS)) + ")"
    common = {"flagged": flagged, "ph": ph}
    steps = [
        _step("cascade_deleted", c.table, id_col=c.id_column, link_col=c.column, where=cascading, **common)
        for c in table.cascades
    ]
    own = {"id_col": table.id_column, "link_col": table.id_column, **common}
    steps.append(_step("deleted", table.name, where=removed, **own))
    if table.geo_columns:
        steps.append(
            _step(
                "geo_scrubbed", table.name, where=f"f.change = '{SCRUB}'", set_nulls=table.geo_columns, **own
            )
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
    summary per job, with its one-line ``summary`` and its asset event ``asset_extra``."""
    checked = [(job, _checked_results(job)) for job in jobs]
    ph = sql_hook.placeholder
    columns = SQLITE_FLAGGED_COLUMNS if getattr(sql_hook, "conn_type", None) == "sqlite" else FLAGGED_COLUMNS
    changed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    summaries = []
    with closing(sql_hook.get_conn()) as conn:
        with closing(conn.cursor()) as cur:
            cur.execute(AUDIT_DDL)
            cur.execute(RUNS_DDL)
            conn.commit()
        try:
            with closing(conn.cursor()) as cur:
                for job, results in checked:
                    flagged = _stage(cur, results, columns, ph)
                    changes = _change(
                        cur, table, flagged, job_id=job.job_id, run_id=run_id, at=changed_at, ph=ph
                    )
                    summary = _summary(table, job.job_id, results, changes)
                    row = run_row(
                        summary,
                        dag_id=dag_id,
                        run_id=run_id,
                        applied_at=changed_at,
                        ids_sent=job.ids_sent,
                        downloaded=job.downloaded,
                        scope=scope,
                    )
                    record_run(cur, ph, row)
                    summaries.append(
                        {**summary, "summary": describe_run(row), "asset_extra": asset_extra(row)}
                    )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    for summary in summaries:
        log.info("Applied %s", summary["summary"])
    return summaries


def _checked_results(job: JobResults) -> Flagged:
    results = read_results(job.results_path, job_id=job.job_id)
    per_reason = results.per_reason()
    unknown = sorted(reason for reason, count in per_reason.items() if count and reason not in KNOWN_REASONS)
    if unknown:
        log.warning(
            "Job %s sent reasons this version does not know: %s; their rows are removed", job.job_id, unknown
        )
    check_all_uploaded(results, job.ids_path, job_id=job.job_id)
    return results


def _change(
    cur: Any, table: ComplianceTable, flagged: str, *, job_id: str, run_id: str, at: str, ph: str
) -> Counter[str]:
    """Audit and change exactly the rows of one job's staged IDs, then drop the stage."""
    changes: Counter[str] = Counter()
    for label, audit_sql, change_sql in _statements(table, flagged, ph):
        cur.execute(audit_sql, (job_id, run_id, at))
        audited = cur.rowcount
        cur.execute(change_sql)
        if cur.rowcount != audited:
            raise XComplianceError(
                f"job {job_id}: {label} changed {cur.rowcount} rows but audited {audited}; rolled back"
            )
        changes[label.split(":")[0]] += audited
    cur.execute(f"DROP TABLE {flagged}")
    return changes


def _stage(cur: Any, results: Flagged, columns: str, ph: str) -> str:
    """A temporary table of one job's flagged IDs, loaded batch by batch: with ``COPY`` on
    psycopg 3 (PostgreSQL's bulk path: one stream instead of a round of parameters per row), else
    with ``executemany``, which SQLite's driver runs in C. Returns its name."""
    flagged = f"xc_flagged_{uuid.uuid4().hex[:12]}"
    cur.execute(f"CREATE TEMPORARY TABLE {flagged} ({columns})")
    if hasattr(cur, "copy"):  # psycopg 3's cursor
        with cur.copy(f"COPY {flagged} (id, reason, change) FROM STDIN (FORMAT csv)") as copy:
            for batch in results.batches():
                sink = pa.BufferOutputStream()  # Arrow writes CSV in C: 5x pandas' to_csv here
                pa_csv.write_csv(batch, sink, _CSV_ROWS)
                copy.write(memoryview(sink.getvalue()))
        return flagged
    insert = f"INSERT INTO {flagged} (id, reason, change) VALUES ({ph}, {ph}, {ph})"
    for rows in results.rows():
        cur.executemany(insert, rows)
    return flagged


def _summary(table: ComplianceTable, job_id: str, results: Flagged, changes: Counter[str]) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "table": table.name,
        "results": len(results),
        "deleted": changes["deleted"],
        "geo_scrubbed": changes["geo_scrubbed"],
        "cascade_deleted": changes["cascade_deleted"],
        "flagged_per_reason": {reason: count for reason, count in results.per_reason().items() if count},
    }
