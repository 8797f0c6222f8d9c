"""Each ID once, however many files hold it, in memory bounded by a share of the IDs.

A dataset's records can repeat across files (twarc2 pages from overlapping searches, a day
written twice), and a sweep of a large dataset names more IDs than should sit in memory at
once. The IDs are spilled to local files by a hash of their value, ``BUCKETS`` of them; the
copies of an ID all land in one bucket, so each bucket is deduplicated alone, and memory holds
one bucket (about 1/``BUCKETS`` of the IDs) at a time. The spill files go when the set is closed.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from x_compliance.files.sorted_ids import sorted_distinct

BUCKETS = 64
SPILL_IDS = 1 << 18  # IDs held before they go to their buckets (2 MB)
# Fibonacci hashing: the top bits of the product spread IDs whose low bits barely vary (a
# snowflake's sequence number is mostly 0).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - int(np.log2(BUCKETS)))


class DistinctIds:
    """Add arrays of int64 IDs; read them back each once (in no set order), a bucket at a time.

    Added IDs wait in memory until ``SPILL_IDS`` of them are there, then go to their buckets in
    one pass (a radix sort by bucket, and one append to each bucket's file)."""

    def __init__(self) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="x-compliance-ids-")
        self.folder = Path(self._scratch.name)  # the spill files, removed by close()
        self._buckets = [self.folder / f"{b:02d}.i64" for b in range(BUCKETS)]
        self._waiting: list[np.ndarray] = []
        self._waiting_ids = 0

    def add(self, ids: np.ndarray) -> None:
        if len(ids):
            self._waiting.append(ids.astype(np.int64, copy=False))
            self._waiting_ids += len(ids)
            if self._waiting_ids >= SPILL_IDS:
                self._spill()

    def _spill(self) -> None:
        if not self._waiting:
            return
        ids = np.concatenate(self._waiting)
        self._waiting, self._waiting_ids = [], 0
        buckets = ((ids.view(np.uint64) * _GOLDEN) >> _SHIFT).astype(np.uint8)
        order = np.argsort(buckets, kind="stable")  # a radix sort, for 8-bit keys
        ids, buckets = ids[order], buckets[order]
        bounds = np.searchsorted(buckets, np.arange(BUCKETS + 1))
        for bucket, (start, end) in enumerate(itertools.pairwise(bounds)):
            if end > start:
                with self._buckets[bucket].open("ab") as spill:
                    ids[start:end].tofile(spill)

    def chunks(self, size: int) -> Iterator[np.ndarray]:
        """Every distinct ID, in arrays of ``size`` (the last one shorter): a bucket, and at
        most one chunk, in memory at a time."""
        self._spill()
        left = np.empty(0, np.int64)  # fewer than ``size``, carried into the next bucket's chunks
        for path in self._buckets:
            if not path.exists():
                continue
            distinct = np.concatenate([left, sorted_distinct(np.fromfile(path, dtype=np.int64))])
            whole = len(distinct) - len(distinct) % size
            for start in range(0, whole, size):
                yield distinct[start : start + size]
            left = distinct[whole:].copy()
        if len(left):
            yield left

    def close(self) -> None:
        self._scratch.cleanup()

    def __enter__(self) -> DistinctIds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
