"""A files apply's audit put in audit order from any number of parts, without holding it whole.

Each part added (a journal entry: one data file's rows; or a row group of an earlier audit)
is sorted, cut by segment and file (:data:`~x_compliance.lake.audit_summary.SEGMENT_KEY`,
``file``) and spilled to a local Arrow file, a batch a group. They come back one (segment,
file) group at a time, mapped from those files, in
:data:`~x_compliance.lake.audit_summary.AUDIT_ORDER`, each row once: so memory holds one
file's rows of one segment, however large the dataset's audit.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
        self._pieces: dict[tuple[str, ...], list[tuple[Path, int]]] = {}
        self._names = itertools.count()
        return self

    def __exit__(self, *_: object) -> None:
        self._scratch.cleanup()

    def add(self, part: pa.Table) -> None:
        """Spill ``part`` (audit rows in any order, ``AUDIT_SCHEMA``'s columns) by group, each
        group in audit order."""
        part = part.select(AUDIT_SCHEMA.names).cast(AUDIT_SCHEMA)
        if not part.num_rows:
            return
        part = part.take(pc.sort_indices(part, sort_keys=[(c, "ascending") for c in AUDIT_ORDER]))
        starts = np.zeros(part.num_rows, bool)
        starts[0] = True
        for column in GROUP_KEY:
            values = part.column(column).combine_chunks()
            starts[1:] |= pc.not_equal(values[1:], values[:-1]).to_numpy(zero_copy_only=False)
        bounds = [*np.flatnonzero(starts).tolist(), part.num_rows]
        path = Path(self._scratch.name) / f"{next(self._names)}.arrow"
        with pa.ipc.new_file(path, AUDIT_SCHEMA) as spilled:  # one file a part, a batch a group
            for at, (start, stop) in enumerate(itertools.pairwise(bounds)):
                rows = part.slice(start, stop - start).combine_chunks()
                spilled.write_table(rows, max_chunksize=rows.num_rows)
                key = tuple(rows.column(c)[0].as_py() for c in GROUP_KEY)
                self._pieces.setdefault(key, []).append((path, at))

    def groups(self) -> Iterator[tuple[tuple[str, str, str], pa.Table]]:
        """(segment key, rows) per (segment, file), in audit order, each row once."""
        for key in sorted(self._pieces):
            pieces = self._pieces[key]
            rows = pa.Table.from_batches([_spilled(path, at) for path, at in pieces])
            if len(pieces) > 1:
                at = rows.append_column("_at", pa.array(np.arange(rows.num_rows)))
                first = at.group_by(ROW_KEY, use_threads=False).aggregate([("_at", "min")])
                rows = rows.take(first.column("_at_min"))
                rows = rows.take(pc.sort_indices(rows, sort_keys=WITHIN_GROUP))
            yield key[: len(SEGMENT_KEY)], rows


def _spilled(path: Path, at: int) -> pa.RecordBatch:
    """Batch ``at`` of a spilled part, mapped from disk (only its pages are read)."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).get_batch(at)
