"""Sets of numeric IDs kept as sorted numpy arrays: made by a sort, looked up a batch at a time.

A sorted int64 array costs 8 bytes an ID and answers a whole column of IDs with one
``searchsorted``, where a Python set costs about a hundred bytes an ID and a lookup each. The
results reader, the warehouse's upload check, the lake's verdicts and manifests all ask here.
"""

from __future__ import annotations

import numpy as np


def sorted_distinct(ids: np.ndarray) -> np.ndarray:
    """``ids`` sorted, each once: by a sort, as ``np.unique`` hashes integers first, which is
    many times slower for the hundreds of thousands of IDs of a row group."""
    ids = np.sort(ids)
    return ids[np.concatenate(([True], ids[1:] != ids[:-1]))] if len(ids) else ids


def find_sorted(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``ids``: its position in ``sorted_ids`` and whether it is there (where it is
    not, the position is meaningless but safe to index with)."""
    if not len(sorted_ids):
        return np.zeros(len(ids), np.intp), np.zeros(len(ids), bool)
    at = np.searchsorted(sorted_ids, ids)
    at[at == len(sorted_ids)] = 0  # past the end: compare with any element, it cannot match
    return at, sorted_ids[at] == ids
