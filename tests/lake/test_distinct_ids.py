"""The files export's set of IDs: each ID once, whatever repeats across files, a bucket of the
IDs in memory at a time, and no spill file left behind."""

from __future__ import annotations

import numpy as np
import pytest

from x_compliance.lake import distinct_ids
from x_compliance.lake.distinct_ids import BUCKETS, DistinctIds

SNOWFLAKE = 1_990_000_000_000_000_000


@pytest.mark.parametrize("size", [1_000, 170], ids=["chunks-span-buckets", "buckets-span-chunks"])
def test_every_id_comes_back_once_in_chunks_and_the_spill_goes(monkeypatch, size):
    monkeypatch.setattr(distinct_ids, "SPILL_IDS", 20_000)  # several spills, and IDs still waiting
    rng = np.random.default_rng(7)
    # Snowflake-like IDs whose low bits barely vary: a hash of the value must still spread them.
    ids = SNOWFLAKE + (rng.choice(50_000_000, 30_000, replace=False).astype(np.int64) << 22)
    with DistinctIds() as distinct:
        scratch = distinct.folder
        for _ in range(3):  # each ID in three "files", in another order each time
            distinct.add(rng.permutation(ids))
        distinct.add(np.empty(0, np.int64))
        chunks = [chunk.copy() for chunk in distinct.chunks(size)]
        sizes = sorted(p.stat().st_size // 8 for p in scratch.iterdir())
    back = np.concatenate(chunks)
    assert len(back) == len(ids) and set(back.tolist()) == set(ids.tolist())
    *whole, last = [len(chunk) for chunk in chunks]
    assert whole == [size] * len(whole) and 0 < last <= size
    assert len(sizes) == BUCKETS and sizes[-1] < 3 * 3 * len(ids) / BUCKETS  # no bucket holds most of them
    assert not scratch.exists()
