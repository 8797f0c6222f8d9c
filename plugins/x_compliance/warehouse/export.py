"""Export the IDs of one partition of a warehouse table to a file X can take.

Streams: rows are fetched in chunks through the hook and written to a local scratch file,
which is then published to storage in one step, so a reader never sees half a file.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from x_compliance.exceptions import InvalidIdError
from x_compliance.storage_paths import publish
from x_compliance.warehouse.tables import ComplianceTable

log = logging.getLogger(__name__)

CHUNK_ROWS = 200_000


def partition_query(table: ComplianceTable, placeholder: str, *, bounded: bool) -> str:
    sql = f"SELECT {table.id_column} FROM {table.name}"
    if bounded:
        column = table.created_at_column
        sql += f" WHERE {column} >= {placeholder} AND {column} < {placeholder}"
    return sql + f" ORDER BY {table.id_column}"


def id_lines(ids: pd.Series, *, table: ComplianceTable, first_row: int) -> bytes:
    """One ID per line. Integers pass as they are; text must be 1 to 19 digits. A NULL, a float
    (which would round a 19-digit id) or any other text fails, naming the row and the value."""
    source = f"{table.name}.{table.id_column}"
    if pd.api.types.is_integer_dtype(ids.dtype):
        text = ids.astype("int64").astype(str)
    else:
        text = ids.astype("string").str.strip()
        bad = ids.isna() | ~text.str.fullmatch(r"[0-9]{1,19}").fillna(False)
        if pd.api.types.is_float_dtype(ids.dtype):
            bad = pd.Series(True, index=ids.index)
        if bad.any():
            position = int(bad.to_numpy().argmax())
            value = ids.iloc[position]
            raise InvalidIdError(
                f"{source} (exported row)", first_row + position, "NULL" if pd.isna(value) else str(value)
            )
    if text.empty:
        return b""
    return ("\n".join(text.tolist()) + "\n").encode()


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
        with local.open("wb") as out:
            for chunk in sql_hook.get_df_by_chunks(sql, parameters=parameters, chunksize=chunk_rows):
                out.write(id_lines(chunk.iloc[:, 0], table=table, first_row=count + 1))
                count += len(chunk)
                log.info("Exported %s %s ids so far", f"{count:,}", table.name)
        path = publish(local, destination) if count else None
    where = f" created in [{start}, {end})" if bounded else ""
    log.info("Exported %s ids of %s%s to %s", f"{count:,}", table.name, where, path or "(nothing: empty)")
    return {"ids": count, "path": str(path) if path else None}
