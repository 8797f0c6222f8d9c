"""The flagged IDs of a job, read from its results file for the apply step, and checked against
the IDs we uploaded.

IDs are held as one int64 numpy array and reasons as small integer codes (12 bytes a result),
never as Python strings, so 10M results fit in about 120 MB and 1M in 12 MB.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from x_compliance.exceptions import MalformedResultError, XComplianceError
from x_compliance.ids import open_source, source_name
from x_compliance.line_blocks import iter_line_blocks
from x_compliance.storage_paths import as_storage_path
from x_compliance.warehouse.tables import change_for

BATCH_ROWS = 50_000
ID_CHUNK_BYTES = 2 << 20
_ID = r"[0-9]{1,19}"
_INT64_MAX = np.uint64(2**63 - 1)


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

    def frames(self, rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
        """``id``, ``reason`` and the ``change`` it asks for, ``rows`` at a time."""
        for start in range(0, len(self), rows):
            frame = pd.DataFrame(
                {
                    "id": self.ids[start : start + rows],
                    "reason": pd.Categorical.from_codes(self.codes[start : start + rows], self.reasons),
                }
            )
            # On a categorical, map runs once per distinct reason, not once per row.
            frame["change"] = frame["reason"].map(change_for)
            yield frame


def _by_name(item: tuple[int, str]) -> str:
    return item[1]


def read_results(results_path: Any, *, job_id: str) -> Flagged:
    """The Parquet results, validated batch by batch; the first row for an ID wins."""
    reasons: dict[str, int] = {}
    ids, codes = [], []
    row = 0
    with as_storage_path(results_path).open("rb") as fh:
        # Batch by batch on one thread, nothing read ahead: each of those holds tens of MB more.
        results = pq.ParquetFile(fh, pre_buffer=False)
        for batch in results.iter_batches(BATCH_ROWS, columns=["id", "reason"], use_threads=False):
            frame = batch.to_pandas()
            text = frame["id"].astype("string")
            bad = ~text.str.fullmatch(_ID).fillna(False) | frame["reason"].isna()
            if bad.any():
                at = int(bad.to_numpy().argmax())
                raise MalformedResultError(
                    source_name(results_path),
                    row + at + 1,
                    str(frame.iloc[at].to_dict()),
                    "bad row",
                    job_id=job_id,
                )
            local, names = pd.factorize(frame["reason"])
            to_global = np.array([reasons.setdefault(name, len(reasons)) for name in names], dtype=np.int32)
            ids.append(text.astype("int64").to_numpy())
            codes.append(to_global[local] if len(names) else local.astype(np.int32))
            row += len(frame)
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


def check_all_uploaded(flagged: Flagged, ids_path: Any, *, job_id: str) -> None:
    """Every result must be an ID we sent: anything else means the wrong file or the wrong job."""
    wanted = flagged.ids  # sorted and unique
    found = np.zeros(len(wanted), dtype=bool)
    if len(wanted):
        with open_source(ids_path) as fh:
            for block in iter_line_blocks(fh, ID_CHUNK_BYTES):
                sent = _parse_ids(block)
                at = np.searchsorted(wanted, sent)
                at[at == len(wanted)] = 0  # past the end: compare with any element, it cannot match
                found[at[wanted[at] == sent]] = True
    if not found.all():
        stray = wanted[~found][:5].tolist()
        raise XComplianceError(
            f"job {job_id}: {int((~found).sum())} result id(s) were never uploaded in "
            f"{source_name(ids_path)} (e.g. {stray}); refusing to apply results from another job"
        )


def _parse_ids(block: bytes) -> np.ndarray:
    """The IDs of a block of whole lines. A clean block (digits and newlines only, as our export
    writes) is parsed by numpy in C; anything else goes through ``split`` as before."""
    if block.endswith(b"\n") and not block.translate(None, b"0123456789\n"):
        digits = np.frombuffer(block, np.uint8) - np.uint8(48)  # "\n" becomes 218
        ends = np.flatnonzero(digits == 218)
        lengths = np.diff(ends, prepend=-1) - 1
        if lengths.min() >= 1 and lengths.max() <= 19:
            values = _horner(digits, ends, lengths)
            if values.max() <= _INT64_MAX:
                return values.astype(np.int64)
    return np.array(block.split(), dtype=np.int64)


def _horner(digits: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """All lines at once, one digit position per step, in uint64 (19 digits can pass int64)."""
    width = int(lengths[0])
    if (lengths == width).all():  # the usual case: every line as long, so a plain 2-D view
        rows = digits.reshape(len(ends), width + 1)
        values = rows[:, 0].astype(np.uint64)
        for column in range(1, width):
            values = values * np.uint64(10) + rows[:, column]
        return values
    values = np.zeros(len(ends), dtype=np.uint64)
    for back in range(int(lengths.max()), 0, -1):
        has = lengths >= back
        values[has] = values[has] * np.uint64(10) + digits[ends[has] - back]
    return values
