"""The journal that ties each file's swap to its audit, and the audit it ends in, as Parquet
beside the dataset: ``<root>/.x-compliance/journal/<jobs>/`` and ``<root>/.x-compliance/audit/``.

Before a file is replaced, its audit rows are stored as one journal entry (whole or not at
all); only then is the file swapped. A crash after the swap therefore loses no audit row: the
retry finds the file already changed (nothing left to do, the entry kept), or not yet
swapped (the same rewrite again, the same rows written over the entry). At the end the
entries become one audit file per set of jobs, merged with what an earlier try stored and
without repeats, and the journal goes. Re-running the apply for the same jobs changes no file
and adds no row. The audit file is in :func:`~x_compliance.lake.audit_summary.in_audit_order`
and its footer holds its summary (the jobs' ``compliance_runs`` rows and the audit's segments),
so the Compliance page reads a page of it without reading it all. Given a connection id, the
entries go to the warehouse instead (:mod:`~x_compliance.lake.sql_audit`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from x_compliance.files.storage_paths import as_storage_path, is_local, open_source, publish
from x_compliance.lake.audit_summary import dataset_name, in_audit_order, run_rows, segments

STATE_FOLDER = ".x-compliance"
# The audit of a change: the rewrite's columns, then the job that asked for it and the run.
RUN_COLUMNS = ["job_id", "run_id", "changed_at"]
KEY_COLUMNS = ["record_id", "kind", "file", "line", "part", "change", "reason", "job_id"]
SUMMARY_KEY = b"x_compliance.audit"  # the audit file's summary, JSON in its footer
ROW_GROUP_ROWS = 32_768  # a page of the audit reads one row group, rarely two
AUDIT_CONN_ENV = "X_COMPLIANCE_FILES_AUDIT_CONN_ID"


@dataclass(frozen=True)
class JournalEntry:
    """One file's pending audit: the entry's name (the file's hash), its bytes' digest and rows."""

    name: str
    digest: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class AppliedRun:
    """What the audit's summary needs of an apply: its jobs (``job_id``, ``job_type``, ``ids``
    sent), what each flagged (``frames``: per job type, the flagged records and their
    ``job_id``), the run and what it checked (its scope: the page's coverage reads it)."""

    jobs: list[Any]
    verdicts: Any
    run_id: str
    dag_id: str | None = field(default_factory=lambda: os.environ.get("AIRFLOW_CTX_DAG_ID"))
    scope: dict[str, Any] | None = None


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

    def entries(self) -> Iterator[JournalEntry]:
        if self.folder.exists():
            for entry in sorted(self.folder.iterdir(), key=str):
                if entry.name.endswith(".parquet"):
                    with open_source(entry) as fh:
                        data = fh.read()
                    digest = hashlib.sha256(data).hexdigest()
                    yield JournalEntry(
                        entry.name.removesuffix(".parquet"), digest, pd.read_parquet(io.BytesIO(data))
                    )

    def clear(self) -> None:
        if self.folder.exists():
            for entry in self.folder.iterdir():
                entry.unlink()
            if is_local(self.folder):  # in an object store a folder is a prefix, gone with its last object
                self.folder.rmdir()


def audit_path(root: Any, key: str) -> ObjectStoragePath:
    return state_folder(root) / "audit" / f"jobs-{key}.parquet"


def audit_conn_id(conn_id: str | None = None) -> str | None:
    """The connection the files audit goes to: ``conn_id``, else ``$X_COMPLIANCE_FILES_AUDIT_CONN_ID``;
    none (the default): Parquet beside the dataset."""
    return conn_id or os.environ.get(AUDIT_CONN_ENV) or None


def store_audit(
    root: Any, journal: Journal, key: str, *, applied: AppliedRun | None = None, conn_id: str | None = None
) -> tuple[ObjectStoragePath | str, int]:
    """Move the journal's entries into the audit of ``key`` (rows an earlier try stored kept,
    none twice): the Parquet file beside the dataset, or the warehouse of ``conn_id`` (see
    :func:`audit_conn_id`). The journal goes only once they are stored. Returns where they went
    and the rows the audit gained."""
    entries = list(journal.entries())
    if conn_id := audit_conn_id(conn_id):
        from x_compliance.lake.sql_audit import store_in_sql

        location, added = store_in_sql(conn_id, root, key, entries, applied)
    else:
        location, added = audit_path(root, key), 0
        if entries:
            earlier = read_audit(location)
            merged = pd.concat(
                [*([] if earlier is None else [earlier]), *(e.frame for e in entries)], ignore_index=True
            )
            merged = merged.drop_duplicates(subset=KEY_COLUMNS, keep="first", ignore_index=True)
            added = len(merged) - (len(earlier) if earlier is not None else 0)
            if added:
                merged = in_audit_order(merged)
                _write_audit(merged, location, summary(root, merged, applied))
    journal.clear()
    return location, added


def summary(root: Any, audit: pd.DataFrame, applied: AppliedRun | None) -> dict[str, Any]:
    """The footer of ``audit`` (in audit order): its dataset, its jobs' ``compliance_runs``
    rows and its segments (ranges of its rows), as the page reads them."""
    table = dataset_name(root)
    at = now_stamp()
    runs = []
    if applied is not None:
        runs = run_rows(applied.jobs, applied.verdicts, audit, table=table, run_id=applied.run_id,
                        applied_at=at, dag_id=applied.dag_id, scope=applied.scope)  # fmt: skip
    return {
        "table": table,
        "rows": len(audit),
        "runs": runs,
        "segments": [astuple(s) for s in segments(audit, table, at)],
    }


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def read_audit(location: Any) -> pd.DataFrame | None:
    location = as_storage_path(location)
    if not location.exists():
        return None
    with open_source(location) as fh:
        return pd.read_parquet(fh)


def _write_parquet(frame: pd.DataFrame, destination: ObjectStoragePath) -> None:
    _write_audit(frame, destination, None)


def _write_audit(frame: pd.DataFrame, destination: ObjectStoragePath, about: dict | None) -> None:
    """Written locally, then published whole (a reader never sees half an entry); ``about``
    goes in the footer."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if about is not None:
        metadata = {**(table.schema.metadata or {}), SUMMARY_KEY: json.dumps(about, default=str).encode()}
        table = table.replace_schema_metadata(metadata)
    with tempfile.TemporaryDirectory(prefix="x-compliance-audit-") as scratch:
        local = Path(scratch) / "audit.parquet"
        pq.write_table(table, local, row_group_size=ROW_GROUP_ROWS)
        publish(local, destination)
