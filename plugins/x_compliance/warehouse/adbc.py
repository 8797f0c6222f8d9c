"""Arrow-native reads of the warehouse through ADBC, for the connections that have a driver.

Through DB-API, every id becomes a Python int before a line is written; an ADBC driver hands
over int64 columns in C, which keeps the export near what the database's own CLI takes (the
benchmark's export stage shows both side by side). SQLite (``adbc-driver-sqlite``) and
PostgreSQL (``adbc-driver-postgresql``, in the ``postgres`` extra) have one; any other
common-sql connection, or one whose driver is not installed, gets None and the caller reads
through DB-API.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from x_compliance.files.arrow import from_numpy, strings, text_lines
from x_compliance.files.ids import MAX_BIGINT, first_bad_id

log = logging.getLogger(__name__)


class NotArrowClean(Exception):
    """A column ADBC cannot hand over as clean ids: mixed types, or values that need a closer
    look than C can give (NULLs, floats, padded text). The caller reads it through DB-API."""


@dataclass(frozen=True)
class ArrowSource:
    """How to open an ADBC connection to the warehouse an Airflow SQL hook points at, and how
    to bind a query's parameters for it."""

    name: str  # the driver, as logs name it
    connect: Callable[[], Any]  # an ``adbc_driver_manager.AdbcDatabase``
    bind: Callable[[str, tuple], tuple[str, tuple]]
    batch_options: Callable[[int], dict[str, str]]  # the driver's options for batches of N rows


def arrow_source(sql_hook: Any) -> ArrowSource | None:
    """The ADBC route to ``sql_hook``'s database, or None (no driver: read through DB-API)."""
    kind = getattr(sql_hook, "conn_type", None)
    # The drivers' own modules, not their DB-API ones: ``adbc_driver_manager.dbapi`` imports
    # pyarrow.dataset and pandas first, a fixed cost every export would pay for nothing.
    if kind == "sqlite" and _installed("adbc_driver_sqlite"):
        import adbc_driver_sqlite

        # The path (or file: URI) exactly as SqliteHook.get_conn derives it.
        uri = sql_hook.get_uri().replace("sqlite:///", "file:")
        return ArrowSource(
            name="adbc-driver-sqlite",
            connect=lambda: adbc_driver_sqlite.connect(uri),
            bind=lambda sql, parameters: (sql, parameters),
            batch_options=lambda rows: {"adbc.sqlite.query.batch_rows": str(rows)},
        )
    if kind == "postgres" and _installed("adbc_driver_postgresql") and _installed("psycopg"):
        import adbc_driver_postgresql

        uri = sql_hook.sqlalchemy_url.set(drivername="postgresql").render_as_string(hide_password=False)
        return ArrowSource(
            name="adbc-driver-postgresql",
            connect=lambda: adbc_driver_postgresql.connect(uri),
            bind=_literal_query,
            # Sized in bytes: N int64 ids. The driver's default batch is larger and raises peak RSS.
            batch_options=lambda rows: {"adbc.postgresql.batch_size_hint_bytes": str(rows * 8)},
        )
    return None


def _literal_query(sql: str, parameters: tuple) -> tuple[str, tuple]:
    """The query with its ``%s`` parameters written as literals, quoted by psycopg.

    ADBC sends a Python ``str`` parameter as ``text``, and PostgreSQL has no ``timestamptz >=
    text`` operator; a quoted literal has no type until the server reads it against the column,
    so the same query serves a ``timestamptz`` and a text ``created_at``, as psycopg's does.
    """
    from psycopg import sql as pg_sql

    return sql % tuple(pg_sql.Literal(value).as_string(None) for value in parameters), ()


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def read_id_columns(
    source: ArrowSource, sql: str, parameters: tuple, *, batch_rows: int
) -> Iterator[pa.Array]:
    """Run ``sql`` and yield its first column, batch by batch, streamed from the driver.

    A driver that finds a value of another type than the column's first rows (SQLite's dynamic
    typing) fails the batch; that is :class:`NotArrowClean`, not an error of the warehouse.
    """
    from adbc_driver_manager import AdbcConnection, AdbcStatement

    sql, parameters = source.bind(sql, parameters)
    with (
        closing(source.connect()) as database,
        closing(AdbcConnection(database)) as conn,
        closing(AdbcStatement(conn)) as statement,
    ):
        statement.set_options(**source.batch_options(batch_rows))
        statement.set_sql_query(sql)
        if parameters:
            schema, array = _one_row(parameters).__arrow_c_array__()
            statement.bind(array, schema)
        stream, _ = statement.execute_query()
        reader = pa.RecordBatchReader._import_from_c(stream.address)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (OSError, pa.ArrowException) as exc:
                raise NotArrowClean(f"the driver could not read the column as one type ({exc})") from exc
            yield batch.column(0)


def _one_row(parameters: tuple) -> pa.RecordBatch:
    """A query's parameters (ints and strings) as the one-row batch ADBC binds."""
    columns = [
        from_numpy(np.array([value], np.int64)) if isinstance(value, int) else strings([str(value)])
        for value in parameters
    ]
    return pa.record_batch(columns, names=[f"p{i}" for i in range(len(columns))])


def arrow_id_lines(values: pa.Array, *, first_row: int) -> bytes:
    """One line per id of a column that holds only clean ids (BIGINTs from 1, or text that is
    an id by :func:`~x_compliance.files.ids.first_bad_id`), written in C."""
    if values.null_count:
        raise NotArrowClean(f"a NULL at or after row {first_row}")
    if pa.types.is_integer(values.type):
        bounds = pc.min_max(values).as_py()
        if len(values) and (bounds["min"] < 1 or bounds["max"] > MAX_BIGINT):
            raise NotArrowClean(f"an integer out of range at or after row {first_row}")
    elif not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise NotArrowClean(f"the column came as {values.type}")
    elif first_bad_id(values) is not None:
        raise NotArrowClean(f"text that is not an id as it stands at or after row {first_row}")
    return text_lines(values)
