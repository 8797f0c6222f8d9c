"""The journal that ties each file's swap to its audit, and the audit it ends in, as Parquet
beside the dataset: ``<root>/.x-compliance/journal/<jobs>/`` and ``<root>/.x-compliance/audit/``.

Before a file is replaced, its audit rows are stored as one journal entry (whole or not at
all); only then is the file swapped. A crash after the swap therefore loses no audit row: the
retry finds the file already changed (nothing left to do, the entry kept), or not yet
swapped (the same rewrite again, the same rows written over the entry). At the end the
entries become one audit file per set of jobs, merged with what an earlier try stored and
without repeats, and the journal goes. Re-running the apply for the same jobs changes no file
and adds no row.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from airflow.sdk import ObjectStoragePath

from x_compliance.files.storage_paths import as_storage_path, open_source, publish

STATE_FOLDER = ".x-compliance"
# The audit of a change: the rewrite's columns, then the job that asked for it and the run.
RUN_COLUMNS = ["job_id", "run_id", "changed_at"]
KEY_COLUMNS = ["record_id", "kind", "file", "line", "part", "change", "reason", "job_id"]


def state_folder(root: Any) -> ObjectStoragePath:
    return as_storage_path(root) / STATE_FOLDER


class Journal:
    """The pending audit of one apply (the jobs ``key`` names), one entry per file swapped."""

    def __init__(self, root: Any, key: str) -> None:
        self.folder = state_folder(root) / "journal" / key

    def entry(self, data_file: Any) -> ObjectStoragePath:
        name = hashlib.sha256(str(data_file).encode()).hexdigest()[:32]
        return self.folder / f"{name}.parquet"

    def record(self, data_file: Any, audit: pd.DataFrame) -> None:
        """Store ``audit`` as the entry of ``data_file``, whole, before the file is swapped."""
        _write_parquet(audit, self.entry(data_file))

    def entries(self) -> Iterator[pd.DataFrame]:
        if self.folder.exists():
            for entry in sorted(self.folder.iterdir(), key=str):
                if entry.name.endswith(".parquet"):
                    with open_source(entry) as fh:
                        yield pd.read_parquet(fh)

    def clear(self) -> None:
        if self.folder.exists():
            for entry in self.folder.iterdir():
                entry.unlink()
            self.folder.rmdir()


def audit_path(root: Any, key: str) -> ObjectStoragePath:
    return state_folder(root) / "audit" / f"jobs-{key}.parquet"


def store_audit(root: Any, journal: Journal, key: str) -> tuple[ObjectStoragePath, int]:
    """Move the journal's entries into the audit file of ``key`` (rows an earlier try stored
    kept, none twice); returns the file and the rows it gained."""
    location = audit_path(root, key)
    frames = list(journal.entries())
    if frames:
        earlier = read_audit(location)
        merged = pd.concat([*([] if earlier is None else [earlier]), *frames], ignore_index=True)
        merged = merged.drop_duplicates(subset=KEY_COLUMNS, keep="first", ignore_index=True)
        added = len(merged) - (len(earlier) if earlier is not None else 0)
        if added:
            _write_parquet(merged, location)
    else:
        added = 0
    journal.clear()
    return location, added


def read_audit(location: Any) -> pd.DataFrame | None:
    location = as_storage_path(location)
    if not location.exists():
        return None
    with open_source(location) as fh:
        return pd.read_parquet(fh)


def _write_parquet(frame: pd.DataFrame, destination: ObjectStoragePath) -> None:
    """Written locally, then published whole (a reader never sees half an entry)."""
    with tempfile.TemporaryDirectory(prefix="x-compliance-audit-") as scratch:
        local = Path(scratch) / "audit.parquet"
        frame.to_parquet(local, index=False)
        publish(local, destination)
