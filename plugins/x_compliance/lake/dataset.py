"""A dataset root and the data files under it, per format: the one seam a new format plugs into.

A :class:`DataFormat` says which files under the root are its data files, which Post and user
IDs a file holds (without reading it again while it is unchanged), and how X's verdicts are
applied to one file, whole or not at all, returning the audit rows
(:data:`~x_compliance.lake.rewrite.AUDIT_COLUMNS`). Hidden names (``.x-compliance*``: the
manifests, the journal, the audit; a rewrite's scratch files) are never data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from airflow.sdk import ObjectStoragePath

from x_compliance.files.storage_paths import as_storage_path
from x_compliance.lake.manifest import current_manifest
from x_compliance.lake.rewrite import rewrite_file


@dataclass(frozen=True)
class DataFormat:
    """How the files DAG reads and changes one kind of data file."""

    name: str
    suffixes: tuple[str, ...]
    # The file's (IDs, kinds: POST_ID or USER_ID) a group at a time, the file read only if it changed.
    records: Callable[[ObjectStoragePath], Iterator[tuple[np.ndarray, np.ndarray]]]
    # Whether the file may hold any of the sorted IDs (so is worth opening).
    holds_any: Callable[[ObjectStoragePath, np.ndarray], bool]
    # (file, verdicts, *, before_swap) -> audit rows; before_swap(audit) runs before the file is replaced.
    apply: Callable[..., pd.DataFrame]


def _twarc2_records(path: ObjectStoragePath) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    return current_manifest(path).iter_records()


def _twarc2_holds_any(path: ObjectStoragePath, ids: np.ndarray) -> bool:
    return current_manifest(path).holds_any(ids)


TWARC2 = DataFormat("twarc2", (".jsonl",), _twarc2_records, _twarc2_holds_any, rewrite_file)
FORMATS = {TWARC2.name: TWARC2}


def data_format(name: str) -> DataFormat:
    if name not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, not {name!r}")
    return FORMATS[name]


def data_files(root: Any, data: DataFormat) -> Iterator[ObjectStoragePath]:
    """The format's files under ``root``, in name order, hidden folders and files left out."""
    root = as_storage_path(root)
    base = root.path.rstrip("/")
    for found in sorted(root.fs.find(base)):
        relative = found[len(base) + 1 :]
        if relative.endswith(data.suffixes) and not any(p.startswith(".") for p in relative.split("/")):
            yield root / relative
