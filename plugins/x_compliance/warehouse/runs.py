"""``compliance_runs``: one row per applied job, the run summary that outlives XCom; and
``compliance_audit_segments``: where each apply's audit rows are, per table, change and reason.

Both are written by the apply step in its transaction (so a row exists exactly when the changes
do) and read by the Compliance page, which so never has to count or search ``compliance_audit``.
Counts per reason get a column each, for charts in plain SQL on any warehouse; the full
per-reason dict and the run's scope are kept as JSON too, so a reason X adds later is not lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from x_compliance.files.results import KNOWN_REASONS
from x_compliance.hooks.progress import duration
from x_compliance.warehouse.tables import AUDIT_TABLE

RUNS_TABLE = "compliance_runs"
REASONS = tuple(sorted(KNOWN_REASONS))  # one `flagged_<reason>` column each
_TEXT = {
    "dag_id": "VARCHAR(250)",
    "run_id": "VARCHAR(250)",
    "job_id": "VARCHAR(19) NOT NULL",
    "job_type": "VARCHAR(16)",
    "table_name": "VARCHAR(64)",
    "scope_kind": "VARCHAR(40)",
    "scope_label": "VARCHAR(250)",
    "scope_date": "VARCHAR(10)",
    "created_from": "VARCHAR(10)",
    "created_to": "VARCHAR(10)",
    "job_created_at": "VARCHAR(40)",
    "uploaded_at": "VARCHAR(40)",
    "completed_at": "VARCHAR(40)",
    "applied_at": "VARCHAR(40)",
}
_NUMBERS = {
    "rotation_slot": "INTEGER",
    "recheck_days": "INTEGER",
    "ids_sent": "BIGINT",
    "results": "BIGINT",
    "rows_deleted": "BIGINT",
    "rows_geo_scrubbed": "BIGINT",
    "rows_cascade_deleted": "BIGINT",
    **{f"flagged_{reason}": "BIGINT" for reason in REASONS},
    "flagged_other": "BIGINT",
    "x_processing_seconds": "DOUBLE PRECISION",
    "status_calls": "INTEGER",
}
_JSON = {"flagged_json": "VARCHAR(2000)", "scope_json": "VARCHAR(2000)"}
COLUMNS = {**_TEXT, **_NUMBERS, **_JSON}
RUNS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (\n    "
    + ",\n    ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    + "\n)"
)
# Each apply writes its audit rows one (table, change, reason) at a time, so each such group is one
# *segment*: on SQLite a contiguous range of the audit's rowids, which the page reads as a range
# of the table's own key at any depth. Other warehouses leave the range empty, and the page reads
# a segment by its columns (fast with the optional AUDIT_INDEX_DDL, below).
SEGMENTS_TABLE = "compliance_audit_segments"
SEGMENTS_DDL = f"""CREATE TABLE IF NOT EXISTS {SEGMENTS_TABLE} (
    job_id       VARCHAR(19) NOT NULL,
    run_id       VARCHAR(250),
    applied_at   VARCHAR(40),
    table_name   VARCHAR(64) NOT NULL,
    change       VARCHAR(32) NOT NULL,
    reason       VARCHAR(32) NOT NULL,
    audited_rows BIGINT NOT NULL,
    first_row    BIGINT,
    last_row     BIGINT
)"""
SEGMENT_COLUMNS = ("job_id", "run_id", "applied_at", "table_name", "change", "reason", "audited_rows",
                   "first_row", "last_row")  # fmt: skip
# Optional, for warehouses without rowid ranges (PostgreSQL): the page's reads of a segment by
# its columns. The apply never creates it: every apply would pay for it.
AUDIT_INDEX_DDL = (
    f"CREATE INDEX IF NOT EXISTS compliance_audit_by_job "
    f"ON {AUDIT_TABLE} (job_id, table_name, change, reason, record_id)"
)


@dataclass(frozen=True)
class Segment:
    """One apply's audited rows of one job, table, change and reason; ``first_row`` and
    ``last_row`` are their rowids on SQLite, else None."""

    job_id: str
    run_id: str | None
    applied_at: str | None
    table: str
    change: str
    reason: str
    rows: int
    first_row: int | None = None
    last_row: int | None = None


def last_rowid_reader(sql_hook: Any, conn: Any) -> Callable[[], int] | None:
    """On SQLite, a reader of the rowid of the last row ``conn`` inserted: one INSERT's rows take
    consecutive rowids, so a segment's audit rows are a range. None on any other warehouse."""
    if getattr(sql_hook, "conn_type", None) != "sqlite":
        return None

    def last() -> int:
        with closing(conn.cursor()) as query:
            query.execute("SELECT last_insert_rowid()")
            return int(query.fetchone()[0])

    return last


def record_segments(cursor: Any, placeholder: str, segments: list[Segment]) -> None:
    """Write an apply's segments in the caller's transaction, beside its audit rows: one per
    (table, change, reason) it audited, of no rows too (so the page knows the job has them). An
    apply of a job applied before adds its own: the earlier applies' rows are still in the audit."""
    marks = ", ".join([placeholder] * len(SEGMENT_COLUMNS))
    insert = f"INSERT INTO {SEGMENTS_TABLE} ({', '.join(SEGMENT_COLUMNS)}) VALUES ({marks})"
    for s in segments:
        cursor.execute(
            insert,
            (s.job_id, s.run_id, s.applied_at, s.table, s.change, s.reason, s.rows, s.first_row, s.last_row),
        )


Apply = tuple[str, str, int]  # run id, applied at, rows it changed


def earlier_applies(cursor: Any, placeholder: str, job_id: str) -> list[Apply]:
    """The applies of ``job_id`` so far, oldest first, and the rows each changed, as its segments
    record them."""
    cursor.execute(
        f"SELECT run_id, applied_at, SUM(audited_rows) FROM {SEGMENTS_TABLE} WHERE job_id = {placeholder} "
        "GROUP BY run_id, applied_at ORDER BY applied_at",
        (job_id,),
    )
    return [(str(run), str(at), int(n)) for run, at, n in cursor.fetchall()]


def scope_description(scope: dict[str, Any] | None) -> tuple[str, str]:
    """(kind, label): ``new rows``, ``new rows + rotation share`` or ``sweep``, and what was checked."""
    scope = scope or {}
    if scope.get("kind") == "sweep":
        kind = "sweep"
    elif scope.get("rotation_slot") is not None:
        kind = "new rows + rotation share"
    else:
        kind = "new rows"
    return kind, str(scope.get("checked") or kind)


def run_row(
    summary: dict[str, Any],
    *,
    dag_id: str | None,
    run_id: str,
    applied_at: str,
    ids_sent: int | None = None,
    downloaded: dict[str, Any] | None = None,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``compliance_runs`` row of one applied job, from the apply summary and what the
    earlier steps handed on (the download summary and its wait report)."""
    downloaded = downloaded or {}
    wait = downloaded.get("wait") or {}
    scope = scope or {}
    per_reason = summary["flagged_per_reason"]
    kind, label = scope_description(scope)
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "job_id": summary["job_id"],
        "job_type": downloaded.get("job_type"),
        "table_name": summary["table"],
        "scope_kind": kind,
        "scope_label": label[:250],
        "scope_date": scope.get("date"),
        "created_from": scope.get("created_from"),
        "created_to": scope.get("created_to"),
        "job_created_at": downloaded.get("job_created_at"),
        "uploaded_at": wait.get("uploaded_at"),
        "completed_at": wait.get("completed_at"),
        "applied_at": applied_at,
        "rotation_slot": scope.get("rotation_slot"),
        "recheck_days": scope.get("recheck_days"),
        "ids_sent": ids_sent,
        "results": summary["results"],
        "rows_deleted": summary["deleted"],
        "rows_geo_scrubbed": summary["geo_scrubbed"],
        "rows_cascade_deleted": summary["cascade_deleted"],
        **{f"flagged_{reason}": per_reason.get(reason, 0) for reason in REASONS},
        "flagged_other": sum(n for reason, n in per_reason.items() if reason not in KNOWN_REASONS),
        "x_processing_seconds": wait.get("x_processing_seconds"),
        "status_calls": wait.get("status_calls"),
        "flagged_json": json.dumps(per_reason, sort_keys=True)[:2000],
        "scope_json": json.dumps(scope, sort_keys=True, default=str)[:2000],
    }


def record_run(cursor: Any, placeholder: str, row: dict[str, Any]) -> None:
    """Write the row in the caller's transaction; applying a job again replaces its row."""
    cursor.execute(f"DELETE FROM {RUNS_TABLE} WHERE job_id = {placeholder}", (row["job_id"],))
    names = ", ".join(COLUMNS)
    marks = ", ".join([placeholder] * len(COLUMNS))
    cursor.execute(f"INSERT INTO {RUNS_TABLE} ({names}) VALUES ({marks})", tuple(row[c] for c in COLUMNS))


def describe_run(row: dict[str, Any], earlier: list[Apply] = ()) -> str:
    """One line, the same on the apply log and on the Compliance page. ``earlier``: the job's
    earlier applies (:func:`earlier_applies`), which made the changes an apply of the same
    results again finds already made."""
    flagged = {reason: row[f"flagged_{reason}"] for reason in REASONS if row.get(f"flagged_{reason}")}
    if row.get("flagged_other"):
        flagged["other"] = row["flagged_other"]
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in flagged.items()) or "none"
    sent = f"{row['ids_sent']:,} IDs sent, " if row.get("ids_sent") is not None else ""
    calls = row.get("status_calls")
    return (
        f"{row.get('job_type') or row['table_name']} job {row['job_id']} ({row['scope_label']}): "
        f"{sent}{row['results']:,} flagged ({reasons}); "
        f"{row['rows_deleted']:,} rows deleted, {row['rows_geo_scrubbed']:,} geo-scrubbed, "
        f"{row['rows_cascade_deleted']:,} cascaded in {row['table_name']}; "
        f"X took {duration(row.get('x_processing_seconds'))}"
        + (f" ({calls} status call{'' if calls == 1 else 's'})" if calls is not None else "")
        + "".join(
            f"; applied before by run {run} at {at}, which changed {n:,} rows"
            for run, at, n in earlier
            if (run, at) != (row["run_id"], row["applied_at"])
        )
    )


def asset_extra(row: dict[str, Any]) -> dict[str, Any]:
    """The counts an asset event carries in ``extra``: small, JSON, the same as the row's."""
    return {
        "job_id": row["job_id"],
        "run_id": row["run_id"],
        "scope": row["scope_label"],
        "ids_sent": row["ids_sent"],
        "flagged": row["results"],
        "flagged_per_reason": json.loads(row["flagged_json"]),
        "rows_deleted": row["rows_deleted"],
        "rows_geo_scrubbed": row["rows_geo_scrubbed"],
        "rows_cascade_deleted": row["rows_cascade_deleted"],
        "x_processing_seconds": row["x_processing_seconds"],
    }


def run_extra(extras: list[dict[str, Any]]) -> dict[str, Any]:
    """The asset event ``extra`` of a run that applied one or more jobs: the jobs' counts summed,
    and each job's own ``extra`` under ``per_job``."""
    per_reason: dict[str, int] = {}
    for extra in extras:
        for reason, n in extra["flagged_per_reason"].items():
            per_reason[reason] = per_reason.get(reason, 0) + n
    seconds = [e["x_processing_seconds"] for e in extras if e["x_processing_seconds"] is not None]

    def total(key: str) -> int | None:
        values = [e[key] for e in extras]
        return None if None in values else sum(values)

    return {
        "run_id": extras[0]["run_id"] if extras else None,
        "scope": extras[0]["scope"] if extras else None,
        "jobs": [e["job_id"] for e in extras],
        "ids_sent": total("ids_sent"),
        "flagged": total("flagged"),
        "flagged_per_reason": dict(sorted(per_reason.items())),
        "rows_deleted": total("rows_deleted"),
        "rows_geo_scrubbed": total("rows_geo_scrubbed"),
        "rows_cascade_deleted": total("rows_cascade_deleted"),
        "x_processing_seconds": sum(seconds) if seconds else None,
        "per_job": extras,
    }
