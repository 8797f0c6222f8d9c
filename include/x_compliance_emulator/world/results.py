"""Write the results file of a job: one JSON line per non-compliant ID, in upload order.

Lines look like the real files (key order id, action, created_at, redacted_at, reason; a blank
first line; some lines twice; tweets dated ``...54.667Z``, users ``...04+00:00``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

import numpy as np

from x_compliance_emulator.world.fates import COMPLIANT, REASONS, FateModel
from x_compliance_emulator.world.hashing import salt, unit

TWITTER_EPOCH_MS = 1288834974657
# Below this an ID cannot be a snowflake (its timestamp bits would fall in the first minutes
# after the snowflake epoch), so its creation date comes from the hash instead.
SNOWFLAKE_MIN_ID = 1 << 42
PRE_SNOWFLAKE_START_MS = 1142899200000  # 2006-03-21, the first tweet
REDACTION_DELAY_MIN_MS = 60_000
REDACTION_DELAY_SPAN_MS = 30 * 86_400_000


class LineDetails:
    """Per-ID dates, redaction and duplication: deterministic from (seed, type, id)."""

    def __init__(self, seed: int, job_type: str, duplicate_rate: float) -> None:
        self.job_type = job_type
        self.duplicate_rate = duplicate_rate
        self._date_key = salt(seed, "created", job_type)
        self._redacted_key = salt(seed, "redacted", job_type)
        self._delay_key = salt(seed, "delay", job_type)
        self._duplicate_key = salt(seed, "duplicate", job_type)

    def created_ms(self, ids: np.ndarray) -> np.ndarray:
        snowflake = (ids >> np.uint64(22)).astype(np.int64) + TWITTER_EPOCH_MS
        span = TWITTER_EPOCH_MS - PRE_SNOWFLAKE_START_MS
        hashed = PRE_SNOWFLAKE_START_MS + (unit(ids, self._date_key) * span).astype(np.int64)
        return np.where(ids >= np.uint64(SNOWFLAKE_MIN_ID), snowflake, hashed)

    def redacted_ms(self, ids: np.ndarray, created: np.ndarray) -> np.ndarray:
        """Redaction time after creation for about half the IDs, -1 where the line has none."""
        delay = REDACTION_DELAY_MIN_MS + (unit(ids, self._delay_key) * REDACTION_DELAY_SPAN_MS).astype(
            np.int64
        )
        return np.where(unit(ids, self._redacted_key) < 0.5, created + delay, -1)

    def copies(self, ids: np.ndarray) -> np.ndarray:
        return 1 + (unit(ids, self._duplicate_key) < self.duplicate_rate).astype(np.int64)

    def format_created(self, ms: np.ndarray) -> list[str]:
        if self.job_type == "users":
            return [
                s + "+00:00" for s in np.datetime_as_string(ms.astype("datetime64[ms]"), unit="s").tolist()
            ]
        return _format_ms_z(ms)


def _format_ms_z(ms: np.ndarray) -> list[str]:
    return [s + "Z" for s in np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms").tolist()]


def result_lines(ids: np.ndarray, fates: FateModel, details: LineDetails) -> str:
    """The result lines of one chunk of uploaded IDs (empty string when all are compliant)."""
    codes = fates.codes(ids)
    hit = codes != COMPLIANT
    if not hit.any():
        return ""
    ids, codes = ids[hit], codes[hit]
    repeat = details.copies(ids)
    ids, codes = np.repeat(ids, repeat), np.repeat(codes, repeat)
    created = details.created_ms(ids)
    redacted = details.redacted_ms(ids, created)
    has_redaction = redacted >= 0
    redacted_text = _format_ms_z(np.where(has_redaction, redacted, 0))
    lines = []
    for id_text, created_text, redacted_at, with_redaction, code in zip(
        ids.astype(str).tolist(),
        details.format_created(created),
        redacted_text,
        has_redaction.tolist(),
        codes.tolist(),
        strict=True,
    ):
        redaction = f',"redacted_at":"{redacted_at}"' if with_redaction else ""
        lines.append(
            f'{{"id":"{id_text}","action":"delete","created_at":"{created_text}"{redaction},'
            f'"reason":"{REASONS[code]}"}}\n'
        )
    return "".join(lines)


def write_results(
    out: BinaryIO, id_chunks: Iterable[np.ndarray], fates: FateModel, details: LineDetails, blank_first: bool
) -> int:
    """Stream all chunks into ``out``; returns how many IDs were read."""
    if blank_first:
        out.write(b"\n")
    count = 0
    for ids in id_chunks:
        count += len(ids)
        out.write(result_lines(ids, fates, details).encode())
    return count
