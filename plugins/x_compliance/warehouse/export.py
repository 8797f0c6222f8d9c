"""Export the IDs of one partition of a warehouse table to a file X can take.

Streams: rows are fetched in chunks through the hook's DB-API connection and written to a
local scratch file, which is then published to storage in one step, so a reader never sees
half a file. Rows go straight from the cursor to bytes: a DataFrame per chunk cost more than
the query.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

from x_compliance.exceptions import InvalidIdError
from x_compliance.files.ids import MAX_BIGINT, id_problem
from x_compliance.storage_paths import publish
from x_compliance.warehouse.tables import ComplianceTable

log = logging.getLogger(__name__)

CHUNK_ROWS = 200_000


def partition_query(table: ComplianceTable, placeholder: str, *, bounded: bool) -> str:
    sql = f"SELECT {table.id_column} FROM {table.name}"
    if bounded:
        column = table.created_at_column
        sql += f" WHERE {column} >= {placeholder} AND {column} < {placeholder}"
    return sql  # no ORDER BY: X takes IDs in any order, and sorting made SQLite build a temp B-tree


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
    parameters = (start, end) if bounded else None
    count = 0
    with tempfile.TemporaryDirectory(prefix="x-compliance-export-") as scratch:
        local = Path(scratch) / "ids.txt"
        with local.open("wb") as out, closing(sql_hook.get_conn()) as conn, closing(conn.cursor()) as cur:
            if parameters:
                cur.execute(sql, parameters)
            else:
                cur.execute(sql)
            while rows := cur.fetchmany(chunk_rows):
                out.write(id_lines([row[0] for row in rows], table=table, first_row=count + 1))
                count += len(rows)
                log.info("Exported %s %s ids so far", f"{count:,}", table.name)
        path = publish(local, destination) if count else None
    where = f" created in [{start}, {end})" if bounded else ""
    log.info("Exported %s ids of %s%s to %s", f"{count:,}", table.name, where, path or "(nothing: empty)")
    return {"ids": count, "path": str(path) if path else None}
