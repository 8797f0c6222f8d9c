"""Export the IDs a run checks (a partition, a rotation share, a sweep) to files X can take.

Streams: ids are fetched in chunks and written to a local scratch file, which is then
published to storage in one step, so a reader never sees half a file. Where the warehouse has
an ADBC driver (:mod:`~x_compliance.warehouse.adbc`) the chunks are Arrow columns, checked and
written as lines in C; otherwise they are rows of the hook's DB-API cursor, written straight to
bytes with no DataFrame in between (building one per chunk cost more than the query itself).
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from x_compliance.exceptions import InvalidIdError
from x_compliance.files.ids import MAX_BIGINT, id_problem
from x_compliance.files.storage_paths import publish
from x_compliance.hooks.progress import Progress
from x_compliance.warehouse.adbc import NotArrowClean, arrow_id_lines, arrow_source, read_id_columns
from x_compliance.warehouse.rotation import day_end, day_start, slot_condition
from x_compliance.warehouse.tables import ComplianceTable

log = logging.getLogger(__name__)

CHUNK_ROWS = 200_000


def partition_query(table: ComplianceTable, placeholder: str, *, bounded: bool) -> str:
    """The ids of one ``created_at`` interval (or of every row): parameters (start, end)."""
    sql = f"SELECT {table.id_column} FROM {table.name}"
    if bounded:
        column = table.created_at_column
        sql += f" WHERE {column} >= {placeholder} AND {column} < {placeholder}"
    return sql  # no ORDER BY: X takes IDs in any order, and sorting made SQLite build a temp B-tree


def scope_query(table: ComplianceTable, scope: dict[str, Any], placeholder: str) -> tuple[str, tuple]:
    """The one query for what a run checks (see :mod:`x_compliance.warehouse.scope`).

    A daily scope selects the rows created on its date OR in its rotation slot: one pass, and
    a row in both is returned once. A sweep selects a ``created_at`` range, or every row.
    """
    sql, column, ph = f"SELECT {table.id_column} FROM {table.name}", table.created_at_column, placeholder
    if scope["kind"] == "daily":
        day = date.fromisoformat(scope["date"])
        start, end = day_start(day), day_end(day)
        where = f"({column} >= {ph} AND {column} < {ph}) OR {slot_condition(table.id_column, ph)}"
        return f"{sql} WHERE {where}", (start, end, scope["recheck_days"], scope["rotation_slot"])
    conditions, parameters = [], []
    if scope["created_from"]:
        conditions.append(f"{column} >= {ph}")
        parameters.append(day_start(date.fromisoformat(scope["created_from"])))
    if scope["created_to"]:
        conditions.append(f"{column} < {ph}")
        parameters.append(day_end(date.fromisoformat(scope["created_to"])))
    return (sql + (" WHERE " + " AND ".join(conditions) if conditions else "")), tuple(parameters)


def id_lines(values: list[Any], *, table: ComplianceTable, first_row: int) -> bytes:
    """One ID per line. Integers must be 1 to BIGINT max; text must be an ID
    (:func:`~x_compliance.files.ids.id_problem`). A NULL, a float (which would round a 19-digit
    id) or anything else fails, naming the row, the value and what was wrong."""
    usual = values and all(type(value) is int for value in values)
    if usual and min(values) >= 0 and max(values) <= MAX_BIGINT:  # formatted in one C call
        return (b"%d\n" * len(values)) % tuple(values)
    lines = []
    for position, value in enumerate(values):
        if value is None or isinstance(value, float | bool):  # exactly int: True is no ID
            problem = "NULL" if value is None else f"a {type(value).__name__}, not an integer or digits"
        else:
            text = str(value).strip()
            problem = id_problem(text)
        if problem is not None:
            raise InvalidIdError(
                f"{table.name}.{table.id_column} (exported row)",
                first_row + position,
                "NULL" if value is None else str(value),
                reason=problem,
                outcome="nothing was exported",
            )
        lines.append(text)
    return ("\n".join(lines) + "\n").encode() if lines else b""


def export_ids(
    sql_hook: Any,
    table: ComplianceTable,
    destination: Any,
    *,
    start: str | None = None,
    end: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, Any]:
    """Write the ids of ``table`` created in ``[start, end)`` (all rows when both are None)."""
    bounded = start is not None and end is not None
    sql = partition_query(table, sql_hook.placeholder, bounded=bounded)
    parts = export_query(
        sql_hook, table, sql, (start, end) if bounded else (), lambda _: destination, chunk_rows=chunk_rows
    )
    where = f" created in [{start}, {end})" if bounded else ""
    path = parts[0]["ids_path"] if parts else None
    log.info("Exported ids of %s%s to %s", table.name, where, path or "(nothing: empty)")
    return {"ids": sum(p["ids"] for p in parts), "path": path}


def export_scope(
    sql_hook: Any,
    table: ComplianceTable,
    scope: dict[str, Any],
    folder: Any,
    *,
    max_ids_per_job: int,
    chunk_rows: int = CHUNK_ROWS,
) -> list[dict[str, Any]]:
    """Write what ``scope`` checks as files of at most ``max_ids_per_job`` ids, one per X job:
    ``folder/part-0001/ids.txt``, ...; each part also names where its job's results go."""
    sql, parameters = scope_query(table, scope, sql_hook.placeholder)
    root = str(folder).rstrip("/")

    def destination(part: int) -> str:
        return f"{root}/part-{part:04d}/ids.txt"

    parts = export_query(
        sql_hook, table, sql, parameters, destination, chunk_rows=chunk_rows, max_ids_per_file=max_ids_per_job
    )
    for part in parts:
        part["results_path"] = part["ids_path"].rsplit("/", 1)[0] + "/results.parquet"
    log.info(
        "Exported %s ids of %s (%s) in %d file(s) of at most %s ids, one X job each",
        f"{sum(p['ids'] for p in parts):,}",
        table.name,
        scope["checked"],
        len(parts),
        f"{max_ids_per_job:,}",
    )
    return parts


def export_query(
    sql_hook: Any,
    table: ComplianceTable,
    sql: str,
    parameters: tuple,
    destination: Callable[[int], Any],
    *,
    chunk_rows: int = CHUNK_ROWS,
    max_ids_per_file: int | None = None,
) -> list[dict[str, Any]]:
    """Stream the query's ids into files of at most ``max_ids_per_file`` lines, each published
    whole to ``destination(part_number)``; return ``[{"ids_path", "ids"}]`` (empty: no rows).

    Through ADBC where the warehouse has a driver; if a value there needs a closer look (a NULL,
    a float, padded text, a column of mixed types), the export starts again through DB-API,
    whose exact values let :func:`id_lines` normalize it or name its row.
    """
    limit = max_ids_per_file or sys.maxsize
    if limit < 1:
        raise ValueError(f"max_ids_per_job must be at least 1, not {limit}")
    source = arrow_source(sql_hook)
    if source is not None:
        log.info("Reading the ids of %s as Arrow columns through %s", table.name, source.name)
        try:
            with closing(read_id_columns(source, sql, parameters, batch_rows=chunk_rows)) as columns:
                return write_parts(table.name, columns, arrow_id_lines, destination, limit)
        except NotArrowClean as why:
            log.info("Reading %s again through DB-API: %s", table.name, why)
    with closing(sql_hook.get_conn()) as conn, closing(conn.cursor()) as cur:
        cur.execute(sql, parameters) if parameters else cur.execute(sql)
        columns = iter(lambda: [row[0] for row in cur.fetchmany(chunk_rows)], [])
        return write_parts(table.name, columns, partial(id_lines, table=table), destination, limit)


def write_parts(
    name: str,
    columns: Iterable[Any],
    lines: Callable[..., bytes],
    destination: Callable[[int], Any],
    limit: int,
) -> list[dict[str, Any]]:
    """Write ``lines(values, first_row=...)`` of each chunk of ids to scratch files of at most
    ``limit`` lines, publishing each whole as it fills (``name``: what the ids are, for the log,
    which says each part written and, every 10 s, how far the export is)."""
    parts: list[dict[str, Any]] = []
    count = 0
    progress = Progress(log, f"Exporting {name}:")
    with tempfile.TemporaryDirectory(prefix="x-compliance-export-") as scratch:
        local = Path(scratch) / "ids.txt"
        out = local.open("wb")
        in_file = 0

        def finish() -> None:
            out.close()
            path = publish(local, destination(len(parts) + 1))
            parts.append({"ids_path": str(path), "ids": in_file})
            log.info(
                "Wrote part %d of %s: %s ids, %s in all so far",
                len(parts),
                name,
                f"{in_file:,}",
                f"{count:,}",
            )

        try:
            for values in columns:
                while len(values):
                    taken, values = values[: limit - in_file], values[limit - in_file :]
                    progress.advance(out.write(lines(taken, first_row=count + 1)), len(taken))
                    count += len(taken)
                    in_file += len(taken)
                    if in_file == limit:
                        finish()
                        out, in_file = local.open("wb"), 0
            if in_file:
                finish()
        finally:
            out.close()
    return parts
