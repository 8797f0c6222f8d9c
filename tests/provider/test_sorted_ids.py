"""Sorted ID arrays: each ID once, and a batch lookup that agrees with a Python set, including
IDs below, between and past the stored ones, and an empty set."""

from __future__ import annotations

import numpy as np

from x_compliance.files.sorted_ids import find_sorted, sorted_distinct


def test_sorted_distinct_keeps_each_id_once_in_order():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 2**62, 5_000, dtype=np.int64)
    repeated = rng.permutation(np.concatenate([ids, ids[:1_000], ids[:10]]))
    assert sorted_distinct(repeated).tolist() == sorted(set(ids.tolist()))
    assert sorted_distinct(np.empty(0, np.int64)).tolist() == []


def test_find_sorted_agrees_with_a_set():
    rng = np.random.default_rng(4)
    stored = sorted_distinct(rng.integers(100, 10_000, 2_000, dtype=np.int64))
    asked = np.concatenate([rng.integers(0, 10_100, 3_000, dtype=np.int64), stored[[0, -1]], [0, 20_000]])
    at, found = find_sorted(stored, asked)
    truth = set(stored.tolist())
    assert found.tolist() == [int(i) in truth for i in asked]
    assert (stored[at[found]] == asked[found]).all()
    assert found.any() and not found.all()


def test_find_sorted_in_an_empty_set_finds_nothing():
    at, found = find_sorted(np.empty(0, np.int64), np.array([1, 2, 3], np.int64))
    assert not found.any() and len(at) == 3
