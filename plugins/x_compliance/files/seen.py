"""Remember which numeric IDs were already seen, in a few bytes per ID rather than a Python set.

Results files repeat lines, and the first line for an ID wins. Kept hand-written because no
library at hand offers a set that grows batch by batch while the file streams: a ``set[str]``
of 10M IDs costs about a gigabyte, ``pyarrow.compute.is_in`` rebuilds its hash table on every
block (quadratic over a file), and de-duplicating at the end would hold the whole file. Sorted
numpy runs cost 8 bytes per ID and answer a block at a time (``make bench``: parse stage).
"""

from __future__ import annotations

import numpy as np

from x_compliance.files.sorted_ids import find_sorted


class SeenIds:
    """A set of uint64 kept as sorted runs whose sizes at least double going down the list.

    Like a log-structured merge tree: adding a batch appends a run and merges runs while the
    newest is at least half the size of the one before, so every ID is copied O(log n) times
    and a lookup is one ``searchsorted`` per run (O(log n) runs).
    """

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)

    def first_new(self, ids: np.ndarray) -> np.ndarray:
        """Positions in ``ids`` (ascending) of the first occurrence of each ID not seen before;
        those IDs are then remembered."""
        unique, first = np.unique(ids, return_index=True)
        new = np.ones(len(unique), dtype=bool)
        for run in self._runs:
            new &= ~find_sorted(run, unique)[1]
        if new.any():
            self._add(unique[new])
        return np.sort(first[new])

    def _add(self, run: np.ndarray) -> None:
        self._runs.append(run)
        while len(self._runs) > 1 and 2 * len(self._runs[-1]) >= len(self._runs[-2]):
            merged = np.concatenate((self._runs[-2], self._runs.pop()))
            merged.sort(kind="stable")  # in place: two sorted runs merge in about linear time
            self._runs[-1] = merged
