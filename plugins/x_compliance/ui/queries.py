"""What the Compliance page reads from the warehouse: bounded queries only (a LIMIT on every
list, the small ``compliance_runs`` and ``compliance_audit_segments`` tables), through the
connection id the DAGs write with. Nothing here scans a managed table (``tweets``, ``users``)
or counts ``compliance_audit``: the segments say how many rows each apply audited, and where.
Only a job applied before the segments table existed is counted, once per process.
"""

from __future__ import annotations

import os
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from x_compliance.warehouse.runs import COLUMNS, RUNS_TABLE, SEGMENT_COLUMNS, SEGMENTS_TABLE, Apply, Segment
from x_compliance.warehouse.tables import AUDIT_TABLE

RUNS_LIMIT = 500  # the charts' and the jobs table's horizon: the latest applied jobs
JOBS_LIMIT = 100_000  # the audit listing's horizon: ~130 years of two daily DAGs
COUNT_BATCH = 200  # job ids per counting query


def warehouse_conn_id() -> str:
    return os.environ.get("X_COMPLIANCE_WAREHOUSE_CONN_ID", "warehouse_default")


def warehouse_hook() -> tuple[Any, str, str]:
    """The warehouse hook, a description of its connection for the page and where it points
    (the audit counts' cache key): never its login, password or extras."""
    from airflow.models.connection import Connection

    conn = Connection.get_connection_from_secrets(warehouse_conn_id())
    where = f"{conn.conn_type}://{conn.host or ''}:{conn.port or ''}/{conn.schema or ''}"
    return conn.get_hook(), f"{conn.conn_id} ({conn.conn_type})", where


# (where the warehouse is, job id) -> {(table, change, reason): audited rows}, for the jobs applied
# before the segments table existed: their audit rows never change.
_COUNTS: dict[tuple[str, str], dict[tuple[str, str, str], int]] = {}
_COUNTS_LOCK = threading.Lock()


class Warehouse:
    """Read-only views of ``compliance_runs``, ``compliance_audit_segments`` and
    ``compliance_audit`` for one request, over one connection (a page makes a dozen small
    queries: a connection each would cost more than the queries). Close it when done."""

    def __init__(self, hook: Any, described: str, where: str = "") -> None:
        self.hook = hook
        self.described = described
        self.where = where or described
        self.ph = hook.placeholder
        self._conn = hook.get_conn()
        self.tables = self._existing(RUNS_TABLE, AUDIT_TABLE, SEGMENTS_TABLE)
        self._segments: dict[str, list[Segment]] = {}  # per job id ("": every job), for this request

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def records(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        with closing(self._conn.cursor()) as cursor:
            cursor.execute(sql, tuple(params))
            return list(cursor.fetchall())

    def _existing(self, *tables: str) -> set[str]:
        """Which provider tables exist yet (none before the first apply)."""
        found = set()
        for table in tables:
            try:
                self.records(f"SELECT 1 FROM {table} WHERE 1 = 0")
                found.add(table)
            except Exception:
                self._conn.rollback()  # PostgreSQL refuses any query after an error until then
        return found

    def _dicts(self, sql: str, params: list | tuple = ()) -> list[dict]:
        return [dict(zip(COLUMNS, row, strict=True)) for row in self.records(sql, params)]

    def _runs(self, where: str = "", params: tuple = (), limit: int = RUNS_LIMIT) -> list[dict]:
        if RUNS_TABLE not in self.tables:
            return []
        sql = f"SELECT {', '.join(COLUMNS)} FROM {RUNS_TABLE} {where} ORDER BY applied_at DESC, job_id DESC"
        return self._dicts(f"{sql} LIMIT {int(limit)}", params)

    def latest_runs(self) -> list[dict]:
        return self._runs()

    def runs_since(self, days: int) -> list[dict]:
        since = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
        return self._runs(f"WHERE applied_at >= {self.ph}", (since,), limit=10 * RUNS_LIMIT)

    def runs_of(self, dag_id: str, run_id: str) -> list[dict]:
        """The jobs a run applied, those applied again by a later run included."""
        where, params = f"WHERE dag_id = {self.ph} AND (run_id = {self.ph}", [dag_id, run_id]
        if SEGMENTS_TABLE in self.tables:
            where += f" OR job_id IN (SELECT job_id FROM {SEGMENTS_TABLE} WHERE run_id = {self.ph})"
            params.append(run_id)
        return self._runs(where + ")", tuple(params), limit=100)

    def job(self, job_id: str) -> dict | None:
        rows = self._runs(f"WHERE job_id = {self.ph}", (job_id,), limit=1)
        return rows[0] if rows else None

    def first_applied(self) -> dict[str, str]:
        """When each table's first job was applied: how long its rotation has been going."""
        if RUNS_TABLE not in self.tables:
            return {}
        sql = f"SELECT table_name, MIN(applied_at) FROM {RUNS_TABLE} GROUP BY table_name"
        return {table: first for table, first in self.records(sql) if first}

    def earlier_check(self, row: dict) -> dict | None:
        """The job applied before this one that checked the same date (a re-run's predecessor)."""
        if not row.get("scope_date"):
            return None
        where = (
            f"WHERE table_name = {self.ph} AND scope_date = {self.ph} AND applied_at < {self.ph} "
            f"AND job_id <> {self.ph}"
        )
        earlier = self._runs(
            where, (row["table_name"], row["scope_date"], row["applied_at"], row["job_id"]), 1
        )
        return earlier[0] if earlier else None

    def jobs(self, job_id: str = "") -> list[tuple[str, int]]:
        """(job id, records X flagged) of the applied jobs, newest first: the audit listing's order."""
        if RUNS_TABLE not in self.tables:
            return []
        where, params = (f"WHERE job_id = {self.ph}", (job_id,)) if job_id else ("", ())
        sql = (
            f"SELECT job_id, COALESCE(results, 0) FROM {RUNS_TABLE} {where} "
            f"ORDER BY applied_at DESC, job_id DESC LIMIT {JOBS_LIMIT}"
        )
        return [(str(j), int(n)) for j, n in self.records(sql, params)]

    def segments(self, job_id: str = "") -> list[Segment]:
        """The audit's segments of every applied job (or one), in the listing's order: newest job
        first, then table, change and reason, descending, then the latest apply's first."""
        if job_id not in self._segments:
            self._segments[job_id] = self._read_segments(job_id)
        return self._segments[job_id]

    def _read_segments(self, job_id: str) -> list[Segment]:
        jobs = self.jobs(job_id)
        found: dict[str, list[Segment]] = {job: [] for job, _ in jobs}
        recorded = set()  # every apply records its segments, those of no rows too
        if SEGMENTS_TABLE in self.tables:
            where, params = (f"WHERE job_id = {self.ph}", (job_id,)) if job_id else ("", ())
            sql = f"SELECT {', '.join(SEGMENT_COLUMNS)} FROM {SEGMENTS_TABLE} {where}"
            for row in self.records(sql, params):
                segment = Segment(str(row[0]), *row[1:])
                recorded.add(segment.job_id)
                if segment.job_id in found and segment.rows:
                    found[segment.job_id].append(segment)
        # A job that flagged records but has no segments was applied before the segments table existed.
        counted = self._counted([job for job, flagged in jobs if flagged and job not in recorded])
        for job, counts in counted.items():
            found[job] = [Segment(job, None, None, *kind, n) for kind, n in counts.items() if n]
        ordered = []
        for job, _ in jobs:
            ordered += sorted(
                found[job], key=lambda s: (s.table, s.change, s.reason, s.applied_at or ""), reverse=True
            )
        return ordered

    def job_counts(self, row: dict) -> dict[tuple[str, str, str], int]:
        """One applied job's audited rows per (table, change, reason), every apply of it."""
        counts: dict[tuple[str, str, str], int] = {}
        for s in self.segments(str(row["job_id"])):
            counts[(s.table, s.change, s.reason)] = counts.get((s.table, s.change, s.reason), 0) + s.rows
        return counts

    def applies(self, job_id: str) -> list[Apply]:
        """(run id, applied at, rows changed) of each apply of the job that changed rows, oldest first."""
        per_apply: dict[tuple[str, str], int] = {}
        for s in self.segments(job_id):
            if s.run_id is not None:
                key = (str(s.run_id), str(s.applied_at))
                per_apply[key] = per_apply.get(key, 0) + s.rows
        return [(run, at, n) for (run, at), n in sorted(per_apply.items(), key=lambda item: item[0][1])]

    def changed_before(self, runs: list[dict]) -> dict[str, dict[str, int]]:
        """Per job of ``runs``: the rows per change its earlier applies changed (a job applied
        again, by a re-run, finds them already changed: its row counts what its latest apply did)."""
        latest = {str(r["job_id"]): (str(r["run_id"]), str(r["applied_at"])) for r in runs}
        before: dict[str, dict[str, int]] = {}
        for s in self.segments():
            if s.job_id in latest and s.run_id is not None and (s.run_id, s.applied_at) != latest[s.job_id]:
                per_change = before.setdefault(s.job_id, {})
                per_change[s.change] = per_change.get(s.change, 0) + s.rows
        return before

    def _counted(self, missing: list[str]) -> dict[str, dict[tuple[str, str, str], int]]:
        """Audited rows per (table, change, reason) of jobs without segments, counted in the
        audit once per process (a full read of it without the optional index)."""
        if missing and AUDIT_TABLE in self.tables:
            uncounted = [job for job in missing if (self.where, job) not in _COUNTS]
            found: dict[str, dict[tuple[str, str, str], int]] = {job: {} for job in uncounted}
            for start in range(0, len(uncounted), COUNT_BATCH):
                batch = uncounted[start : start + COUNT_BATCH]
                sql = (
                    f"SELECT job_id, table_name, change, reason, COUNT(*) FROM {AUDIT_TABLE} "
                    f"WHERE job_id IN ({', '.join([self.ph] * len(batch))}) "
                    "GROUP BY job_id, table_name, change, reason"
                )
                for job, table, change, reason, n in self.records(sql, batch):
                    found[str(job)][(table, change, reason)] = int(n)
            with _COUNTS_LOCK:
                _COUNTS.update({(self.where, job): counts for job, counts in found.items()})
        return {job: _COUNTS.get((self.where, job), {}) for job in missing}
