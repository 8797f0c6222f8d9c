"""A files apply's audit put in audit order from any number of parts, without holding it whole.

Each part added (a journal entry: one data file's rows; or a row group of an earlier audit)
is split by segment and file (:data:`~x_compliance.lake.audit_summary.SEGMENT_KEY`, ``file``)
and spilled to a local Arrow file. They come back one (segment, file) group at a time, in
:func:`~x_compliance.lake.audit_summary.in_audit_order`, each row once: so memory holds one
file's rows of one segment, however large the dataset's audit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather

from x_compliance.lake.audit_summary import AUDIT_ORDER, SEGMENT_KEY

# The audit's columns as the Parquet audit stores them (plain text, whatever a part used).
AUDIT_SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("kind", pa.string()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("part", pa.string()),
        ("change", pa.string()),
        ("reason", pa.string()),
        ("job_id", pa.string()),
        ("run_id", pa.string()),
        ("changed_at", pa.string()),
    ]
)
GROUP_KEY = [*SEGMENT_KEY, "file"]
# What makes an audit row the same change: the key but the time and the run.
ROW_KEY = ["record_id", "kind", "file", "line", "part", "change", "reason", "job_id"]
WITHIN_GROUP = [(c, "ascending") for c in AUDIT_ORDER if c not in GROUP_KEY]


class OrderedAudit:
    """Audit rows added in parts, read back in audit order; a row added twice (``ROW_KEY``)
    comes back once, as first added. A context manager: the spilled parts go at its end."""

    def __enter__(self) -> OrderedAudit:
        self._scratch = tempfile.TemporaryDirectory(prefix="x-compliance-audit-order-")
        self._pieces: dict[tuple[str, ...], list[Path]] = {}
        return self

    def __exit__(self, *_: object) -> None:
        self._scratch.cleanup()

    def add(self, part: pa.Table) -> None:
        """Spill ``part`` (audit rows in any order, ``AUDIT_SCHEMA``'s columns) by group."""
        part = part.select(AUDIT_SCHEMA.names).cast(AUDIT_SCHEMA)
        if not part.num_rows:
            return
        keys = part.select(GROUP_KEY).group_by(GROUP_KEY, use_threads=False).aggregate([])
        for key in keys.to_pylist():
            mask = None
            for column, value in key.items():
                equal = pc.equal(part.column(column), value)
                mask = equal if mask is None else pc.and_(mask, equal)
            self._spill(tuple(key[c] for c in GROUP_KEY), part.filter(mask))

    def _spill(self, key: tuple[str, ...], rows: pa.Table) -> None:
        path = Path(self._scratch.name) / f"{sum(map(len, self._pieces.values()))}.arrow"
        feather.write_feather(rows, path, compression="uncompressed")
        self._pieces.setdefault(key, []).append(path)

    def groups(self) -> Iterator[tuple[tuple[str, str, str], pa.Table]]:
        """(segment key, rows) per (segment, file), in audit order, each row once."""
        for key in sorted(self._pieces):
            pieces = self._pieces[key]
            rows = pa.concat_tables([feather.read_table(p, memory_map=False) for p in pieces])
            if len(pieces) > 1:
                at = rows.append_column("_at", pa.array(np.arange(rows.num_rows)))
                first = at.group_by(ROW_KEY, use_threads=False).aggregate([("_at", "min")])
                rows = rows.take(first.column("_at_min"))
            yield key[: len(SEGMENT_KEY)], rows.take(pc.sort_indices(rows, sort_keys=WITHIN_GROUP))
            for path in pieces:
                path.unlink()
