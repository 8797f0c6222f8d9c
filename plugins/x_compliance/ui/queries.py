"""What the Compliance page reads from the warehouse: bounded queries only (a LIMIT on every
list, aggregates of the small ``compliance_runs`` table), through the connection id the DAGs
write with. Nothing here scans a managed table (``tweets``, ``users``), and ``compliance_audit``
is read only through its job index (:data:`x_compliance.warehouse.runs.INDEX_DDL`).
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from x_compliance.warehouse.runs import COLUMNS, RUNS_TABLE
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


def _tables(hook: Any) -> set[str]:
    """Which provider tables exist yet (none before the first apply)."""
    found = set()
    for table in (RUNS_TABLE, AUDIT_TABLE):
        try:
            hook.get_first(f"SELECT 1 FROM {table} WHERE 1 = 0")
            found.add(table)
        except Exception:
            continue
    return found


# (where the warehouse is, job id, applied_at) -> {(table, change, reason): audited rows}. A job's audit rows
# are written once, in its apply's transaction; applying it again gives it a new applied_at.
_COUNTS: dict[tuple[str, str, str], dict[tuple[str, str, str], int]] = {}
_COUNTS_LOCK = threading.Lock()


class Warehouse:
    """Read-only views of ``compliance_runs`` and ``compliance_audit`` for one request."""

    def __init__(self, hook: Any, described: str, where: str = "") -> None:
        self.hook = hook
        hook.log_sql = False  # a page makes a dozen small queries: the API server's log is not for them
        self.described = described
        self.where = where or described
        self.ph = hook.placeholder
        self.tables = _tables(hook)

    def records(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        return list(self.hook.get_records(sql, parameters=params))

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
        return self._runs(f"WHERE dag_id = {self.ph} AND run_id = {self.ph}", (dag_id, run_id), limit=100)

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

    def jobs(self, job_id: str = "") -> list[tuple[str, str]]:
        """(job id, applied_at) of the applied jobs, newest first: the audit listing's order."""
        if RUNS_TABLE not in self.tables:
            return []
        where, params = (f"WHERE job_id = {self.ph}", (job_id,)) if job_id else ("", ())
        sql = (
            f"SELECT job_id, applied_at FROM {RUNS_TABLE} {where} "
            f"ORDER BY applied_at DESC, job_id DESC LIMIT {JOBS_LIMIT}"
        )
        return [(str(j), str(a)) for j, a in self.records(sql, params)]

    def audit_counts(self, jobs: list[tuple[str, str]]) -> dict[str, dict[tuple[str, str, str], int]]:
        """Audited rows per job and (table, change, reason). Each job is counted once per apply
        (through the job index) and kept for the process's life, so the page's totals cost a
        lookup, not a count of ``compliance_audit``."""
        keys = {job_id: (self.where, job_id, applied_at) for job_id, applied_at in jobs}
        missing = [job_id for job_id, key in keys.items() if key not in _COUNTS]
        if missing and AUDIT_TABLE in self.tables:
            found: dict[str, dict[tuple[str, str, str], int]] = {job_id: {} for job_id in missing}
            for start in range(0, len(missing), COUNT_BATCH):
                batch = missing[start : start + COUNT_BATCH]
                sql = (
                    f"SELECT job_id, table_name, change, reason, COUNT(*) FROM {AUDIT_TABLE} "
                    f"WHERE job_id IN ({', '.join([self.ph] * len(batch))}) "
                    "GROUP BY job_id, table_name, change, reason"
                )
                for job_id, table, change, reason, n in self.records(sql, batch):
                    found[str(job_id)][(table, change, reason)] = int(n)
            with _COUNTS_LOCK:
                stale = {key[:2] for key in (keys[job_id] for job_id in missing)}
                for key in [key for key in _COUNTS if key[:2] in stale]:
                    del _COUNTS[key]  # an earlier apply of a job applied again
                _COUNTS.update({keys[job_id]: counts for job_id, counts in found.items()})
        return {job_id: _COUNTS.get(key, {}) for job_id, key in keys.items()}

    def job_counts(self, row: dict) -> dict[tuple[str, str, str], int]:
        """One applied job's audited rows per (table, change, reason)."""
        return self.audit_counts([(str(row["job_id"]), str(row["applied_at"]))])[str(row["job_id"])]
