"""The files export's set of IDs: each ID once, whatever repeats across files, a bucket of the
IDs in memory at a time, and no spill file left behind."""

from __future__ import annotations

import numpy as np

from x_compliance.lake import distinct_ids
from x_compliance.lake.distinct_ids import BUCKETS, DistinctIds

SNOWFLAKE = 1_990_000_000_000_000_000


def test_every_id_comes_back_once_in_chunks_and_the_spill_goes(monkeypatch):
    monkeypatch.setattr(distinct_ids, "SPILL_IDS", 20_000)  # several spills, and IDs still waiting
    rng = np.random.default_rng(7)
    # Snowflake-like IDs whose low bits barely vary: a hash of the value must still spread them.
    ids = SNOWFLAKE + (rng.choice(50_000_000, 30_000, replace=False).astype(np.int64) << 22)
    with DistinctIds() as distinct:
        scratch = distinct.folder
        for _ in range(3):  # each ID in three "files", in another order each time
            distinct.add(rng.permutation(ids))
        distinct.add(np.empty(0, np.int64))
        chunks = list(distinct.chunks(1_000))
        sizes = sorted(p.stat().st_size // 8 for p in scratch.iterdir())
    back = np.concatenate(chunks)
    assert len(back) == len(ids) and set(back.tolist()) == set(ids.tolist())
    assert [len(chunk) for chunk in chunks[:-1]] == [1_000] * (len(chunks) - 1) and 0 < len(
        chunks[-1]
    ) <= 1_000
    assert len(sizes) == BUCKETS and sizes[-1] < 3 * 3 * len(ids) / BUCKETS  # no bucket holds most of them
    assert not scratch.exists()
