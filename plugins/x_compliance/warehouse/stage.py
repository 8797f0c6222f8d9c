"""The apply's one connection to the warehouse, and how it stages a job's flagged records there.

The flagged records go to a temporary table, which belongs to the connection that made it: the
staging, the changes and the audit all run on this one connection, in one transaction. Each
warehouse gets its fastest route from the DataFrame's Arrow columns to that table:

- SQLite: ADBC's bulk ingest (``adbc-driver-sqlite``), the path pandas' ``DataFrame.to_sql``
  takes on an ADBC connection: the Arrow columns are bound row by row in C, with no Python
  object per row. ``to_sql`` itself cannot serve: it writes to the ``main`` schema (SQLite keeps
  temporary tables in ``temp``) and commits after its ingest, which would end the apply's
  transaction half way. So the frame's Arrow table goes to ``Cursor.adbc_ingest`` as to_sql
  would pass it, into the temporary table, with no commit.
- PostgreSQL on psycopg 3: ``COPY`` of the batches written as CSV by Arrow, in C.
- Any other DB-API driver: ``executemany``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from x_compliance.warehouse.adbc import arrow_source
from x_compliance.warehouse.flagged import BATCH_ROWS, COLUMNS

ADBC, COPY, EXECUTEMANY = "adbc", "copy", "executemany"
STAGE_COLUMNS = "id BIGINT PRIMARY KEY, reason VARCHAR(32), change VARCHAR(8), cascades BOOLEAN"
# SQLite's INTEGER PRIMARY KEY is the row's own 64-bit key, not a second b-tree beside it
# (INTEGER is 32-bit elsewhere, so BIGINT there).
SQLITE_STAGE_COLUMNS = STAGE_COLUMNS.replace("BIGINT", "INTEGER")
# What Python's sqlite3 waits for a lock by default; SQLite's own default is not to wait.
SQLITE_BUSY_MS = 5000
_CSV_ROWS = pa_csv.WriteOptions(include_header=False)


class ApplyConnection:
    """A DB-API connection to the warehouse ``sql_hook`` points at, opened for the apply: over
    ADBC for SQLite, else the hook's own (psycopg 3's for PostgreSQL)."""

    def __init__(self, sql_hook: Any) -> None:
        kind = getattr(sql_hook, "conn_type", None)
        source = arrow_source(sql_hook) if kind == "sqlite" else None
        if source is not None:
            self.conn, self.placeholder, self.route = _adbc_dbapi(source), "?", ADBC
            with closing(self.conn.cursor()) as cur:
                cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        else:
            self.conn, self.placeholder = sql_hook.get_conn(), sql_hook.placeholder
            with closing(self.conn.cursor()) as cur:
                self.route = COPY if hasattr(cur, "copy") else EXECUTEMANY  # psycopg 3's cursor
        self._columns = SQLITE_STAGE_COLUMNS if kind == "sqlite" else STAGE_COLUMNS

    def cursor(self) -> Any:
        """A cursor whose ``execute`` sets ``rowcount`` for INSERT, UPDATE and DELETE."""
        cursor = self.conn.cursor()
        return _AdbcUpdates(cursor) if self.route == ADBC else cursor

    def stage(self, cursor: Any, flagged: pd.DataFrame) -> str:
        """A temporary table of ``flagged`` (:data:`~x_compliance.warehouse.flagged.COLUMNS`,
        one row per ID), loaded by this connection's route. Returns its name."""
        name = f"xc_flagged_{uuid.uuid4().hex[:12]}"
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({self._columns})")
        if not len(flagged):
            return name
        table = pa.Table.from_pandas(flagged[COLUMNS], preserve_index=False)
        if self.route == ADBC:
            cursor.ingest(name, table)
        elif self.route == COPY:
            with cursor.copy(f"COPY {name} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT csv)") as copy:
                for batch in table.to_batches(BATCH_ROWS):
                    sink = pa.BufferOutputStream()
                    pa_csv.write_csv(batch, sink, _CSV_ROWS)
                    copy.write(memoryview(sink.getvalue()))
        else:
            marks = ", ".join([self.placeholder] * len(COLUMNS))
            insert = f"INSERT INTO {name} ({', '.join(COLUMNS)}) VALUES ({marks})"
            for rows in _rows(table):
                cursor.executemany(insert, rows)
        return name

    def close(self) -> None:
        self.conn.close()


def _rows(table: pa.Table) -> Iterator[list[tuple]]:
    """``table`` as lists of tuples, ``BATCH_ROWS`` at a time, for a driver's ``executemany``."""
    for batch in table.to_batches(BATCH_ROWS):
        yield list(zip(*(column.to_pylist() for column in batch.columns), strict=True))


def _adbc_dbapi(source: Any) -> Any:
    """A DB-API connection over ``source``'s driver, made as each driver's ``dbapi.connect`` makes it."""
    from adbc_driver_manager import AdbcConnection
    from adbc_driver_manager.dbapi import Connection

    database = source.connect()
    try:
        return Connection(database, AdbcConnection(database))
    except BaseException:
        database.close()
        raise


class _AdbcUpdates:
    """An ADBC cursor as the apply uses one. ADBC's ``execute`` runs a statement as a query and
    leaves ``rowcount`` at -1; ``executemany`` with one set of parameters runs it as an update,
    which reports the rows it changed."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, parameters: tuple | None = None) -> None:
        self._cursor.executemany(sql, [parameters] if parameters else None)

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def ingest(self, name: str, table: pa.Table) -> None:
        self._cursor.adbc_ingest(name, table, mode="append", temporary=True)

    def close(self) -> None:
        self._cursor.close()
