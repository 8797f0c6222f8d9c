"""The flagged IDs of a job, read from its results file for the apply step, and checked against
the IDs we uploaded.

IDs are held as one int64 numpy array and reasons as small integer codes (12 bytes a result),
never as Python strings, so 10M results fit in about 120 MB and 1M in 12 MB.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from x_compliance.exceptions import MalformedResultError, XComplianceError
from x_compliance.files.arrow import from_numpy, strings, to_numpy
from x_compliance.files.id_files import iter_id_blocks
from x_compliance.files.ids import first_bad_id, id_problem, id_values
from x_compliance.files.storage_paths import open_source
from x_compliance.warehouse.tables import change_for

BATCH_ROWS = 50_000
_STAGED = ["id", "reason", "change"]
ID_CHUNK_BYTES = 2 << 20


@dataclass(frozen=True)
class Flagged:
    """One row per flagged ID (sorted by ID): ``reasons[codes[i]]`` is why ``ids[i]`` was flagged."""

    ids: np.ndarray
    codes: np.ndarray
    reasons: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def per_reason(self) -> dict[str, int]:
        counts = np.bincount(self.codes, minlength=len(self.reasons))
        return {reason: int(counts[code]) for code, reason in sorted(enumerate(self.reasons), key=_by_name)}

    def batches(self, rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """``id``, ``reason`` and the ``change`` it asks for, ``rows`` at a time, as Arrow
        (for a bulk path such as ``COPY``)."""
        reasons = strings(self.reasons)
        changes = strings([change_for(reason) for reason in self.reasons])
        for start in range(0, len(self), rows):
            codes = from_numpy(self.codes[start : start + rows])
            ids = from_numpy(self.ids[start : start + rows])
            yield pa.record_batch([ids, reasons.take(codes), changes.take(codes)], names=_STAGED)

    def rows(self, rows: int = BATCH_ROWS) -> Iterator[list[tuple[int, str, str]]]:
        """The same as ``(id, reason, change)`` tuples, for a driver's ``executemany``: built
        from the codes, one Python string per reason, not per row."""
        named = [(reason, change_for(reason)) for reason in self.reasons]
        for start in range(0, len(self), rows):
            codes = self.codes[start : start + rows].tolist()
            ids = self.ids[start : start + rows].tolist()
            yield [(id_, *named[code]) for id_, code in zip(ids, codes, strict=True)]


def _by_name(item: tuple[int, str]) -> str:
    return item[1]


def read_results(results_path: Any, *, job_id: str) -> Flagged:
    """The Parquet results, each batch checked by the ID rule; the first row for an ID wins."""
    reasons: dict[str, int] = {}
    ids, codes = [], []
    row = 0
    name = str(results_path)
    with open_source(results_path) as fh:
        # Batch by batch on one thread, nothing read ahead: each of those holds tens of MB more.
        results = pq.ParquetFile(fh, pre_buffer=False)
        for batch in results.iter_batches(BATCH_ROWS, columns=["id", "reason"], use_threads=False):
            # pyarrow's allocator (mimalloc) keeps what a batch freed; handed back, the peak is
            # one batch (+19 MB on 850k results) instead of growing with the file (+50 MB).
            pa.default_memory_pool().release_unused()
            text = pc.cast(batch.column("id"), pa.string())
            bad = first_bad_id(text)
            if bad is not None:
                value = text[bad].as_py()
                why = "missing 'id'" if value is None else f"invalid 'id': {id_problem(value)}"
                raise MalformedResultError(name, row + bad + 1, f"id={value!r}", why, job_id=job_id)
            if batch.column("reason").null_count:
                at = pc.index(pc.is_null(batch.column("reason")), True).as_py()
                raise MalformedResultError(
                    name, row + at + 1, f"id={text[at].as_py()!r}", "missing 'reason'", job_id=job_id
                )
            # Codes per batch from Arrow's dictionary encoding: no Python string per row.
            encoded = pc.dictionary_encode(batch.column("reason"))
            local = to_numpy(encoded.indices)
            names = encoded.dictionary.to_pylist()
            to_global = np.array([reasons.setdefault(name, len(reasons)) for name in names], dtype=np.int32)
            ids.append(to_numpy(pc.cast(text, pa.int64())))
            codes.append(to_global[local] if len(names) else local.astype(np.int32))
            row += batch.num_rows
    return _first_per_id(ids, codes, list(reasons))


def _first_per_id(ids: list[np.ndarray], codes: list[np.ndarray], reasons: list[str]) -> Flagged:
    """Sorted unique IDs, each with the reason of its first row. What ``np.unique`` with
    ``return_index`` does, holding three arrays at a time instead of six."""
    if not ids:
        return Flagged(np.empty(0, np.int64), np.empty(0, np.int32), reasons)
    all_ids = np.concatenate(ids)
    ids.clear()
    order = np.argsort(all_ids, kind="stable")  # stable: the first row for an ID sorts first
    all_ids = all_ids[order]
    first = np.ones(len(all_ids), dtype=bool)
    first[1:] = all_ids[1:] != all_ids[:-1]
    return Flagged(all_ids[first], np.concatenate(codes)[order[first]], reasons)


NOTHING_APPLIED = "nothing was applied"


def check_all_uploaded(flagged: Flagged, ids_path: Any, *, job_id: str) -> None:
    """Every result must be an ID we sent: anything else means the wrong file or the wrong job.

    The ID file is read with the same reader (and rule) as the upload.
    """
    wanted = flagged.ids  # sorted and unique
    found = np.zeros(len(wanted), dtype=bool)
    if len(wanted):
        read = iter_id_blocks(ids_path, block_size=ID_CHUNK_BYTES, job_id=job_id, outcome=NOTHING_APPLIED)
        with closing(read):
            for normalized, _, _ in read:
                sent = id_values(normalized)
                at = np.searchsorted(wanted, sent)
                at[at == len(wanted)] = 0  # past the end: compare with any element, it cannot match
                found[at[wanted[at] == sent]] = True
    if not found.all():
        stray = wanted[~found][:5].tolist()
        raise XComplianceError(
            f"job {job_id}: {int((~found).sum())} result id(s) were never uploaded in "
            f"{ids_path} (e.g. {stray}); refusing to apply results from another job"
        )
