"""Which IDs are non-compliant, and why: the single source of truth for results and ``fate()``.

A fate is a reason code per ID, from a world file when one is configured, else from the hash of
(seed, type, id) compared with the cumulative per-reason rates. Works on whole numpy arrays.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from x_compliance_emulator.hashing import salt, unit

# Code i in a fate array means REASONS[i]; COMPLIANT means no result line.
REASONS = ("deleted", "deactivated", "protected", "suspended", "scrub_geo", "bounced")
COMPLIANT = -1
MAX_ID = (1 << 64) - 1


class World:
    """A fixed answer key loaded from a CSV of ``id,reason`` lines (header line optional)."""

    def __init__(self, path: Path) -> None:
        fates: dict[int, int] = {}
        with open(path, newline="") as handle:
            for row_number, row in enumerate(csv.reader(handle), start=1):
                if not row or not row[0].strip():
                    continue
                raw_id, reason = row[0].strip(), (row[1].strip() if len(row) > 1 else "")
                if not raw_id.isdigit():
                    if row_number == 1:
                        continue  # a header line
                    # Never quote the file: a caller may have pointed at one that is not a world.
                    raise ValueError(f"world file {path.name}, line {row_number}: not an id,reason line")
                if reason not in REASONS:
                    raise ValueError(f"world file {path.name}, line {row_number}: unknown reason")
                fates[int(raw_id)] = REASONS.index(reason)
        self.ids = np.array(sorted(fates), dtype=np.uint64)
        self.codes = np.array([fates[i] for i in sorted(fates)], dtype=np.int8)

    def codes_for(self, ids: np.ndarray) -> np.ndarray:
        if len(self.ids) == 0:
            return np.full(len(ids), COMPLIANT, dtype=np.int8)
        pos = np.searchsorted(self.ids, ids)
        clipped = np.minimum(pos, len(self.ids) - 1)
        hit = self.ids[clipped] == ids
        return np.where(hit, self.codes[clipped], np.int8(COMPLIANT)).astype(np.int8)


@lru_cache(maxsize=8)
def load_world(path: str, mtime: float) -> World:
    # Keyed by mtime so an edited world file is re-read, while unchanged ones are parsed once.
    return World(Path(path))


class FateModel:
    """Fates for one job type under one configuration."""

    def __init__(self, seed: int, job_type: str, rates: dict[str, float], world_file: Path | None) -> None:
        unknown = set(rates) - set(REASONS)
        if unknown:
            raise ValueError(f"unknown reasons in rates: {sorted(unknown)}")
        self._key = salt(seed, "fate", job_type)
        self._codes = np.array([i for i, r in enumerate(REASONS) if rates.get(r, 0) > 0], dtype=np.int8)
        self._cumulative = np.cumsum([rates[REASONS[i]] for i in self._codes]).astype(np.float64)
        self._world = load_world(str(world_file), world_file.stat().st_mtime) if world_file else None

    def codes(self, ids: np.ndarray) -> np.ndarray:
        """Reason code per ID (int8), COMPLIANT where the ID stays."""
        if self._world is not None:
            return self._world.codes_for(ids)
        slot = np.searchsorted(self._cumulative, unit(ids, self._key), side="right")
        padded = np.append(self._codes, np.int8(COMPLIANT))
        return padded[slot]

    def reason(self, tweet_or_user_id: int) -> str | None:
        if not 0 <= tweet_or_user_id <= MAX_ID:
            return None
        code = int(self.codes(np.array([tweet_or_user_id], dtype=np.uint64))[0])
        return None if code == COMPLIANT else REASONS[code]
