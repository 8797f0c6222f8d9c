"""A dataset root and what is under it, per format: the one seam a new format plugs into.

A :class:`DataFormat` says which units under the root a run changes (data files; for Delta
Lake, tables: one merge per table), which Post and user IDs a unit holds, and how X's
verdicts are applied to one unit, whole or not at all, returning the audit rows
(:data:`~x_compliance.lake.rewrite.AUDIT_COLUMNS`). Hidden names (``.x-compliance*``: the
manifests, the journal, the audit; a rewrite's scratch files) are never data.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from airflow.sdk import ObjectStoragePath

from x_compliance.files.storage_paths import as_storage_path
from x_compliance.lake.delta_table import apply_to_delta_table, delta_tables, records_in_delta_table
from x_compliance.lake.manifest import current_manifest
from x_compliance.lake.parquet_dataset import apply_to_parquet_file, records_in_parquet_file
from x_compliance.lake.rewrite import rewrite_file


@dataclass(frozen=True)
class DataFormat:
    """How the files DAG reads and changes one kind of data."""

    name: str
    # The units under the root, in name order: data files, or Delta tables.
    units: Callable[[ObjectStoragePath], Iterator[ObjectStoragePath]]
    # A unit's (IDs, kinds: POST_ID or USER_ID) a group at a time.
    records: Callable[[ObjectStoragePath], Iterator[tuple[np.ndarray, np.ndarray]]]
    # Whether the unit may hold any of the sorted IDs (so is worth opening).
    holds_any: Callable[[ObjectStoragePath, np.ndarray], bool]
    # (unit, verdicts, *, before_swap, tag) -> audit rows; before_swap(audit) runs before the
    # unit is replaced or committed; tag names the run's jobs (a Delta commit carries it).
    apply: Callable[..., pd.DataFrame]


def files_named(root: ObjectStoragePath, suffixes: tuple[str, ...], hidden: tuple[str, ...] = (".",)):
    """The files under ``root`` ending in ``suffixes``, in name order, hidden folders and files
    (a name starting with one of ``hidden``) left out."""
    base = root.path.rstrip("/")
    for found in sorted(root.fs.find(base)):
        relative = found[len(base) + 1 :]
        if relative.endswith(suffixes) and not any(p.startswith(hidden) for p in relative.split("/")):
            yield root / relative


def _may_hold(path: ObjectStoragePath, ids: np.ndarray) -> bool:
    """Parquet and Delta plan from their ID columns' statistics: every unit is worth a look."""
    return True


def _twarc2_apply(path: ObjectStoragePath, verdicts: Any, *, before_swap: Callable, tag: str) -> pd.DataFrame:
    return rewrite_file(path, verdicts, before_swap=before_swap)


def _parquet_apply(
    path: ObjectStoragePath, verdicts: Any, *, before_swap: Callable, tag: str
) -> pd.DataFrame:
    return apply_to_parquet_file(path, verdicts, before_swap=before_swap)


def _delta_apply(
    table: ObjectStoragePath, verdicts: Any, *, before_swap: Callable, tag: str, retention_hours: int = 0
) -> pd.DataFrame:
    return apply_to_delta_table(
        table,
        verdicts,
        retention_hours=retention_hours,
        app_id=f"x-compliance:{tag}",
        before_commit=before_swap,
    )


TWARC2 = DataFormat(
    "twarc2",
    functools.partial(files_named, suffixes=(".jsonl",)),
    lambda path: current_manifest(path).iter_records(),
    lambda path, ids: current_manifest(path).holds_any(ids),
    _twarc2_apply,
)
# Days as ``date=DAY/*.parquet``; ``_SUCCESS``, ``_metadata`` and the like are no data.
PARQUET = DataFormat(
    "parquet",
    functools.partial(files_named, suffixes=(".parquet",), hidden=(".", "_")),
    records_in_parquet_file,
    _may_hold,
    _parquet_apply,
)
DELTA = DataFormat("delta", delta_tables, records_in_delta_table, _may_hold, _delta_apply)
FORMATS = {data.name: data for data in (TWARC2, PARQUET, DELTA)}


def data_format(name: str, *, retention_hours: int = 0) -> DataFormat:
    """The format called ``name``; ``retention_hours``: how long a Delta table's versions
    before a run stay readable (0: none, so none still holds a removed Post)."""
    if name not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, not {name!r}")
    if name == DELTA.name:
        return dataclasses.replace(
            DELTA, apply=functools.partial(_delta_apply, retention_hours=retention_hours)
        )
    return FORMATS[name]


def data_files(root: Any, data: DataFormat) -> Iterator[ObjectStoragePath]:
    """The format's units under ``root`` (files, or Delta tables), in name order."""
    return data.units(as_storage_path(root))
