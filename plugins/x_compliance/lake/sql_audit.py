"""A files dataset's audit in the warehouse, for when the files DAG is given a connection id.

``compliance_audit`` has no column for a record's file, line and part, and its rows are read
by the warehouse DAGs' own segments; so the files audit has its own table,
``compliance_file_audit`` (the same columns, ``table_name`` naming the dataset, plus ``kind``,
``file``, ``line`` and ``part``), and writes the ``compliance_runs`` rows and
``compliance_audit_segments`` the Compliance page reads for a warehouse table (with the
warehouse's own DDL and record functions), so the dataset shows there as a table.

Exactly once across a crash: the journal stays the source of truth until the transaction
that stores its entries commits. Each entry's name and digest are committed with its rows
(``compliance_file_entries``): a retry that finds the journal still there (killed between the
commit and the journal's removal) skips what was stored, and a retry killed before the commit
finds nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from dataclasses import replace
from typing import Any

import pandas as pd
import pyarrow as pa

from x_compliance.lake.audit_order import OrderedAudit
from x_compliance.lake.audit_summary import AuditTally, dataset_name, run_rows, segment_job
from x_compliance.warehouse.apply import AUDIT_DDL
from x_compliance.warehouse.flagged import BATCH_ROWS
from x_compliance.warehouse.runs import (
    RUNS_DDL,
    SEGMENTS_DDL,
    Segment,
    last_rowid_reader,
    record_run,
    record_segments,
)
from x_compliance.warehouse.stage import ApplyConnection
from x_compliance.warehouse.tables import AUDIT_TABLE, DELETED

FILE_AUDIT_TABLE = "compliance_file_audit"
# The warehouse audit's columns, then where in the dataset the record was.
FILE_AUDIT_DDL = AUDIT_DDL.replace(AUDIT_TABLE, FILE_AUDIT_TABLE).removesuffix("\n)") + (
    ",\n    kind        VARCHAR(8) NOT NULL,\n    file        VARCHAR(2000) NOT NULL,"
    "\n    line        BIGINT NOT NULL,\n    part        VARCHAR(250) NOT NULL\n)"
)
FILE_AUDIT_COLUMNS = ("record_id", "table_name", "change", "reason", "job_id", "run_id", "changed_at",
                      "kind", "file", "line", "part")  # fmt: skip
ENTRIES_TABLE = "compliance_file_entries"
ENTRIES_DDL = f"""CREATE TABLE IF NOT EXISTS {ENTRIES_TABLE} (
    table_name   VARCHAR(64) NOT NULL,
    journal      VARCHAR(250) NOT NULL,
    entry        VARCHAR(64) NOT NULL,
    digest       VARCHAR(64) NOT NULL,
    audited_rows BIGINT NOT NULL,
    stored_at    VARCHAR(40) NOT NULL
)"""


def store_in_sql(conn_id: str, root: Any, key: str, entries: Iterable[Any], applied: Any) -> tuple[str, int]:
    """Store the journal's ``entries`` of jobs ``key`` in the warehouse of ``conn_id``, in one
    transaction, skipping those an earlier try stored; returns where and the rows added. The
    rows go in audit order (:mod:`~x_compliance.lake.audit_order`), one file's at a time."""
    from airflow.sdk import BaseHook

    from x_compliance.lake.journal import now_stamp

    hook = BaseHook.get_hook(conn_id)
    table, at = dataset_name(root), now_stamp()
    with closing(ApplyConnection(hook)) as warehouse:
        conn, ph = warehouse.conn, warehouse.placeholder
        with closing(warehouse.cursor()) as cur:
            for ddl in (FILE_AUDIT_DDL, ENTRIES_DDL, RUNS_DDL, SEGMENTS_DDL):
                cur.execute(ddl)
            conn.commit()
        last_rowid = last_rowid_reader(hook, conn)
        try:
            with (
                closing(warehouse.cursor()) as cur,
                closing(conn.cursor()) as bulk,
                OrderedAudit() as ordered,
            ):
                stored = _stored(conn, ph, table, key)
                seen, fresh = 0, []
                for entry in entries:
                    seen += 1
                    if (entry.name, entry.digest) not in stored:
                        fresh.append((entry.name, entry.digest, entry.rows.num_rows))
                        ordered.add(entry.rows)
                tally, lasts = AuditTally(table, at), []
                for segment, rows in ordered.groups():
                    tally.add(segment, rows.num_rows, rows.column("run_id")[0].as_py())
                    # the segment's last rowid so far (its rows follow each other)
                    lasts[len(tally.segments) - 1 :] = [_insert_rows(bulk, ph, rows, table, last_rowid)]
                written = [
                    replace(s, first_row=None if last is None else last - s.rows + 1, last_row=last)
                    for s, last in zip(tally.segments, lasts, strict=True)
                ]  # rowids, or none
                for name, digest, rows in fresh:
                    cur.execute(
                        _insert(
                            ENTRIES_TABLE,
                            ("table_name", "journal", "entry", "digest", "audited_rows", "stored_at"),
                            ph,
                        ),
                        (table, key, name, digest, rows, at),
                    )
                if applied is not None and (fresh or not seen):  # not a retry of a stored journal
                    runs = run_rows(applied.jobs, applied.verdicts, tally.changes, table=table,
                                    run_id=applied.run_id, applied_at=at, dag_id=applied.dag_id,
                                    scope=applied.scope)  # fmt: skip
                    for row in runs:
                        record_run(cur, ph, row)
                    audited = {s.job_id for s in written}  # a job that changed nothing: a segment of none
                    written += [Segment(r["job_id"], applied.run_id, at, table, DELETED, "none", 0)
                                for r in runs if r["job_id"] not in audited]  # fmt: skip
                    record_segments(cur, ph, written)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return f"{conn_id}:{FILE_AUDIT_TABLE}", tally.rows


def _stored(conn: Any, ph: str, table: str, key: str) -> set[tuple[str, str]]:
    with closing(conn.cursor()) as query:
        query.execute(
            f"SELECT entry, digest FROM {ENTRIES_TABLE} WHERE table_name = {ph} AND journal = {ph}",
            (table, key),
        )
        return {(str(entry), str(digest)) for entry, digest in query.fetchall()}


def _insert_rows(cursor: Any, ph: str, rows: pa.Table, table: str, last_rowid: Any) -> int | None:
    """Insert rows of one segment, ``BATCH_ROWS`` at a time, named as the warehouse audit names
    them (one transaction: on SQLite their rowids follow each other); returns the last one's
    rowid on SQLite, else None."""
    insert = _insert(FILE_AUDIT_TABLE, FILE_AUDIT_COLUMNS, ph)
    for start in range(0, rows.num_rows, BATCH_ROWS):
        batch = rows.slice(start, BATCH_ROWS).to_pandas()
        batch = batch.assign(table_name=table, job_id=batch["job_id"].map(segment_job))
        cursor.executemany(insert, _tuples(batch))
    return last_rowid() if last_rowid else None


def _insert(table: str, columns: tuple[str, ...], ph: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([ph] * len(columns))})"


def _tuples(rows: pd.DataFrame) -> list[tuple]:
    columns = [
        rows[c].astype("int64" if c in ("record_id", "line") else str).tolist() for c in FILE_AUDIT_COLUMNS
    ]
    return list(zip(*columns, strict=True))
