"""Which IDs are non-compliant, and why: the single source of truth for results and ``fate()``.

A fate is a reason code per ID, from a world file when one is configured, else from the hash of
(seed, type, id) compared with the cumulative per-reason rates. Fates can also change on a
schedule (a Post deleted next week, an account protected next month): a world file line
``id,reason,at`` or :meth:`FateSchedule.add` says that from emulator time ``at`` on, the ID
has that fate (``compliant`` restores it). A model answers as of one emulator time. Works on
whole numpy arrays.

A churn (:class:`Churn`) is the day-to-day drift of a real store: from emulator time ``at`` on, a
seeded share of all IDs takes another fate (a reason drawn across all the type's reasons), so a
store already brought into compliance has fresh verdicts the next time it is checked.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from x_compliance_emulator.world.hashing import salt, unit

# Code i in a fate array means REASONS[i]; COMPLIANT means no result line.
REASONS = ("deleted", "deactivated", "protected", "suspended", "scrub_geo", "bounced")
COMPLIANT = -1
MAX_ID = (1 << 64) - 1
COMPLIANT_NAME = "compliant"  # in a schedule: the ID is compliant again from then on
# The reasons a job of each type can give (X documents "bounced" for Posts only).
TYPE_REASONS = {"tweets": REASONS, "users": tuple(r for r in REASONS if r != "bounced")}


def parse_at(text: str) -> float:
    """Emulator time from epoch seconds or ISO 8601 (``2026-11-20T12:00:00Z``; naive means UTC)."""
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()


def reason_code(reason: str | None) -> int:
    if reason in (None, "", COMPLIANT_NAME):
        return COMPLIANT
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}: one of {REASONS} or {COMPLIANT_NAME!r}")
    return REASONS.index(reason)


class FateSchedule:
    """Fate changes at given emulator times: ``(at, id, code)``, the latest at or before a time wins."""

    def __init__(self) -> None:
        self._changes: list[tuple[float, int, int]] = []

    def add(self, record_id: int, reason: str | None, at: float) -> None:
        if not 0 <= int(record_id) <= MAX_ID:
            raise ValueError(f"{record_id!r} is not an ID")
        self._changes.append((float(at), int(record_id), reason_code(reason)))

    def extend(self, other: FateSchedule) -> None:
        self._changes.extend(other._changes)

    def clear(self) -> None:
        self._changes.clear()

    def __len__(self) -> int:
        return len(self._changes)

    def as_of(self, at: float) -> tuple[np.ndarray, np.ndarray]:
        """(sorted ids, codes): each changed ID's fate at time ``at``."""
        latest: dict[int, int] = {}
        for when, record_id, code in sorted(self._changes):
            if when > at:
                break
            latest[record_id] = code
        ids = np.array(sorted(latest), dtype=np.uint64)
        return ids, np.array([latest[i] for i in sorted(latest)], dtype=np.int8)


def overlay(ids: np.ndarray, codes: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``codes`` with the IDs found in sorted ``keys`` replaced by their ``values``."""
    if len(keys) == 0:
        return codes
    pos = np.minimum(np.searchsorted(keys, ids), len(keys) - 1)
    hit = keys[pos] == ids
    return np.where(hit, values[pos], codes).astype(np.int8)


@dataclass(frozen=True)
class Churn:
    """From emulator time ``at`` on, the share ``rate`` of IDs (a seeded hash picks them) takes a
    reason other than its own fate, drawn evenly across the type's reasons."""

    rate: float = 0.0
    at: float = 0.0

    def apply(self, ids: np.ndarray, codes: np.ndarray, reasons: np.ndarray, key: np.uint64) -> np.ndarray:
        """``codes`` with the churned IDs moved to another of ``reasons`` (the type's codes)."""
        if self.rate <= 0 or len(reasons) == 0:
            return codes
        moved = unit(ids, key) < self.rate
        if not moved.any():
            return codes
        draw = (unit(ids[moved], key ^ _CHURN_REASON) * len(reasons)).astype(np.int64)
        new = reasons[draw]
        # An ID drawn to the reason it already has takes the next one: a churned ID always changes.
        same = new == codes[moved]
        if len(reasons) > 1:
            new[same] = reasons[(draw[same] + 1) % len(reasons)]
        out = codes.copy()
        out[moved] = new
        return out


# Keeps the churn's reason draw independent of its choice of IDs.
_CHURN_REASON = np.uint64(0x5DEECE66D)


class World:
    """An answer key loaded from a CSV of ``id,reason`` lines (header line optional); a line
    ``id,reason,at`` is a scheduled change instead (``at``: epoch seconds or ISO 8601)."""

    def __init__(self, path: Path) -> None:
        fates: dict[int, int] = {}
        self.schedule = FateSchedule()
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
                at = row[2].strip() if len(row) > 2 else ""
                try:
                    if at:
                        self.schedule.add(int(raw_id), reason, parse_at(at))
                        continue
                    if reason not in REASONS:
                        raise ValueError("unknown reason")
                except ValueError:
                    raise ValueError(
                        f"world file {path.name}, line {row_number}: not an id,reason or id,reason,at line"
                    ) from None
                fates[int(raw_id)] = REASONS.index(reason)
        self.ids = np.array(sorted(fates), dtype=np.uint64)
        self.codes = np.array([fates[i] for i in sorted(fates)], dtype=np.int8)

    def codes_for(self, ids: np.ndarray) -> np.ndarray:
        return overlay(ids, np.full(len(ids), COMPLIANT, dtype=np.int8), self.ids, self.codes)


@lru_cache(maxsize=8)
def load_world(path: str, mtime: float) -> World:
    # Keyed by mtime so an edited world file is re-read, while unchanged ones are parsed once.
    return World(Path(path))


class FateModel:
    """Fates for one job type under one configuration, as of emulator time ``at`` (scheduled
    changes up to then applied; with ``at`` None, none are)."""

    def __init__(
        self,
        seed: int,
        job_type: str,
        rates: dict[str, float],
        world_file: Path | None,
        schedule: FateSchedule | None = None,
        at: float | None = None,
        churn: Churn | None = None,
    ) -> None:
        unknown = set(rates) - set(REASONS)
        if unknown:
            raise ValueError(f"unknown reasons in rates: {sorted(unknown)}")
        self._key = salt(seed, "fate", job_type)
        live = churn is not None and at is not None and at >= churn.at
        self._churn, self._churn_key = (churn if live else None), salt(seed, "churn", job_type)
        self._type_codes = np.array([REASONS.index(r) for r in TYPE_REASONS[job_type]], dtype=np.int8)
        self._codes = np.array([i for i, r in enumerate(REASONS) if rates.get(r, 0) > 0], dtype=np.int8)
        self._cumulative = np.cumsum([rates[REASONS[i]] for i in self._codes]).astype(np.float64)
        self._world = load_world(str(world_file), world_file.stat().st_mtime) if world_file else None
        changes = FateSchedule()
        if self._world is not None:
            changes.extend(self._world.schedule)
        if schedule is not None:
            changes.extend(schedule)
        empty = (np.array([], dtype=np.uint64), np.array([], dtype=np.int8))
        self._changed = changes.as_of(at) if at is not None else empty

    def codes(self, ids: np.ndarray) -> np.ndarray:
        """Reason code per ID (int8), COMPLIANT where the ID stays."""
        if self._world is not None:
            base = self._world.codes_for(ids)
        else:
            slot = np.searchsorted(self._cumulative, unit(ids, self._key), side="right")
            base = np.append(self._codes, np.int8(COMPLIANT))[slot]
        if self._churn is not None:
            base = self._churn.apply(ids, base, self._type_codes, self._churn_key)
        return overlay(ids, base, *self._changed)

    def reason(self, tweet_or_user_id: int) -> str | None:
        if not 0 <= tweet_or_user_id <= MAX_ID:
            return None
        code = int(self.codes(np.array([tweet_or_user_id], dtype=np.uint64))[0])
        return None if code == COMPLIANT else REASONS[code]
