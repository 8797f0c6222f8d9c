"""What the Compliance page reads from the warehouse: bounded queries only (a LIMIT on every
list, aggregates for counts), through the same connection id the DAGs write with."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from x_compliance.warehouse.runs import COLUMNS, RUNS_TABLE
from x_compliance.warehouse.tables import AUDIT_TABLE

RUNS_LIMIT = 500  # the charts' horizon: the latest applied jobs
PAGE_SIZE = 50
MAX_PAGE = 2000  # OFFSET costs grow with the page: beyond this, filter instead
AUDIT_FIELDS = ("record_id", "table_name", "change", "reason", "job_id", "run_id", "changed_at")


def warehouse_conn_id() -> str:
    return os.environ.get("X_COMPLIANCE_WAREHOUSE_CONN_ID", "warehouse_default")


def warehouse_hook() -> tuple[Any, str]:
    """The warehouse hook and a description of its connection (never its password or extras)."""
    from airflow.models.connection import Connection

    conn = Connection.get_connection_from_secrets(warehouse_conn_id())
    return conn.get_hook(), f"{conn.conn_id} ({conn.conn_type})"


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


class Warehouse:
    """Read-only views of ``compliance_runs`` and ``compliance_audit`` for one request."""

    def __init__(self, hook: Any, described: str) -> None:
        self.hook = hook
        self.described = described
        self.ph = hook.placeholder
        self.tables = _tables(hook)

    def _dicts(
        self, sql: str, params: list | tuple = (), names: tuple[str, ...] = tuple(COLUMNS)
    ) -> list[dict]:
        return [dict(zip(names, row, strict=True)) for row in self.hook.get_records(sql, parameters=params)]

    def _runs(self, where: str = "", params: tuple = (), limit: int = RUNS_LIMIT) -> list[dict]:
        if RUNS_TABLE not in self.tables:
            return []
        sql = f"SELECT {', '.join(COLUMNS)} FROM {RUNS_TABLE} {where} ORDER BY applied_at DESC"
        sql += f" LIMIT {int(limit)}"
        return self._dicts(sql, params)

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

    def audit_counts(self, job_id: str) -> dict[tuple[str, str], int]:
        """What the audit table says the job changed: (change, reason) -> rows."""
        if AUDIT_TABLE not in self.tables:
            return {}
        sql = (
            f"SELECT change, reason, COUNT(*) FROM {AUDIT_TABLE} WHERE job_id = {self.ph} "
            "GROUP BY change, reason ORDER BY change, reason"
        )
        return {(c, r): int(n) for c, r, n in self.hook.get_records(sql, parameters=(job_id,))}

    def audit_page(
        self, *, reason: str = "", table: str = "", job_id: str = "", page: int = 0
    ) -> tuple[list[dict], bool]:
        """One page of audited changes, newest first, and whether there is a next page."""
        if AUDIT_TABLE not in self.tables:
            return [], False
        filters = {"reason": reason, "table_name": table, "job_id": job_id}
        used = {column: value for column, value in filters.items() if value}
        where = " AND ".join(f"{column} = {self.ph}" for column in used)
        page = max(0, min(int(page), MAX_PAGE))
        sql = (
            f"SELECT {', '.join(AUDIT_FIELDS)} FROM {AUDIT_TABLE}"
            + (f" WHERE {where}" if where else "")
            + f" ORDER BY changed_at DESC, record_id LIMIT {PAGE_SIZE + 1} OFFSET {page * PAGE_SIZE}"
        )
        rows = self._dicts(sql, tuple(used.values()), AUDIT_FIELDS)
        return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
