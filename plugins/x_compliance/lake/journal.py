"""The journal that ties each file's swap to its audit, and the audit it ends in, as Parquet
beside the dataset: ``<root>/.x-compliance/journal/<jobs>/`` and ``<root>/.x-compliance/audit/``.

Before a file is replaced, its audit rows are stored as one journal entry (whole or not at
all); only then is the file swapped. A crash after the swap therefore loses no audit row: the
retry finds the file already changed (nothing left to do, the entry kept), or not yet
swapped (the same rewrite again, the same rows written over the entry). At the end the
entries become one audit file per set of jobs, merged with what an earlier try stored and
without repeats, and the journal goes. Re-running the apply for the same jobs changes no file
and adds no row. The audit file is in :data:`~x_compliance.lake.audit_summary.AUDIT_ORDER`,
put so one file's rows at a time (:mod:`~x_compliance.lake.audit_order`: the dataset's whole
audit never sits in memory), and its footer holds its summary (the jobs' ``compliance_runs``
rows and the audit's segments), so the Compliance page reads a page of it without reading it
all. Given a connection id, the entries go to the warehouse instead
(:mod:`~x_compliance.lake.sql_audit`).
"""

from __future__ import annotations

import hashlib
import itertools
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
from x_compliance.lake.audit_order import AUDIT_SCHEMA, OrderedAudit
from x_compliance.lake.audit_summary import AuditTally, dataset_name, run_rows

STATE_FOLDER = ".x-compliance"
# The audit of a change: the rewrite's columns, then the job that asked for it and the run.
RUN_COLUMNS = ["job_id", "run_id", "changed_at"]
SUMMARY_KEY = b"x_compliance.audit"  # the audit file's summary, JSON in its footer
ROW_GROUP_ROWS = 32_768  # a page of the audit reads one row group, rarely two
AUDIT_CONN_ENV = "X_COMPLIANCE_FILES_AUDIT_CONN_ID"


@dataclass(frozen=True)
class JournalEntry:
    """One file's pending audit: the entry's name (the file's hash), its bytes' digest and rows."""

    name: str
    digest: str
    rows: pa.Table


@dataclass(frozen=True)
class AppliedRun:
    """What the audit's summary needs of an apply: its jobs (``job_id``, ``job_type``, ``ids``
    sent), what each flagged (``verdicts.flagged_of(job_id)``: its results and their count per
    reason), the run and what it checked (its scope: the page's coverage reads it)."""

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
        """The entries, one read at a time."""
        if self.folder.exists():
            for entry in sorted(self.folder.iterdir(), key=str):
                if entry.name.endswith(".parquet"):
                    with open_source(entry) as fh:
                        data = fh.read()
                    name, digest = entry.name.removesuffix(".parquet"), hashlib.sha256(data).hexdigest()
                    yield JournalEntry(name, digest, pq.read_table(pa.BufferReader(data)))

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
    if conn_id := audit_conn_id(conn_id):
        from x_compliance.lake.sql_audit import store_in_sql

        location, added = store_in_sql(conn_id, root, key, journal.entries(), applied)
    else:
        location = audit_path(root, key)
        added = _store_in_parquet(root, location, journal.entries(), applied)
    journal.clear()
    return location, added


def _store_in_parquet(
    root: Any, location: ObjectStoragePath, entries: Iterator[JournalEntry], applied: AppliedRun | None
) -> int:
    """The audit at ``location`` and the ``entries`` written again as one file in audit order,
    published whole when the entries added a row; returns the rows added."""
    entries = iter(entries)
    first = next(entries, None)
    if first is None:  # nothing journaled: the audit is not read
        return 0
    with OrderedAudit() as ordered:
        earlier = 0
        if location.exists():
            with open_source(location) as fh:
                stored = pq.ParquetFile(fh)
                for group in range(stored.num_row_groups):
                    rows = stored.read_row_group(group)
                    earlier += rows.num_rows
                    ordered.add(rows)
        for entry in itertools.chain([first], entries):
            ordered.add(entry.rows)
        table, at = dataset_name(root), now_stamp()
        tally = AuditTally(table, at)
        with tempfile.TemporaryDirectory(prefix="x-compliance-audit-") as scratch:
            local = Path(scratch) / "audit.parquet"
            with pq.ParquetWriter(local, AUDIT_SCHEMA) as out:
                pending: list[pa.Table] = []
                for segment, rows in ordered.groups():
                    tally.add(segment, rows.num_rows, rows.column("run_id")[0].as_py())
                    pending = _write_full_groups(out, [*pending, rows])
                if pending:
                    out.write_table(pa.concat_tables(pending))
                if tally.rows == earlier:
                    return 0
                out.add_key_value_metadata({SUMMARY_KEY: json.dumps(summary(tally, applied), default=str)})
            publish(local, location)
    return tally.rows - earlier


def _write_full_groups(out: pq.ParquetWriter, pending: list[pa.Table]) -> list[pa.Table]:
    """Write ``pending``'s rows in whole row groups of ``ROW_GROUP_ROWS``; return the rest."""
    rows = pa.concat_tables(pending)
    whole = rows.num_rows - rows.num_rows % ROW_GROUP_ROWS
    if whole:
        out.write_table(rows.slice(0, whole), row_group_size=ROW_GROUP_ROWS)
    return [rows.slice(whole)] if whole < rows.num_rows else []


def summary(tally: AuditTally, applied: AppliedRun | None) -> dict[str, Any]:
    """The footer of an audit written in audit order (``tally`` counted it): its dataset, its
    jobs' ``compliance_runs`` rows and its segments (ranges of its rows), as the page reads them."""
    runs = []
    if applied is not None:
        runs = run_rows(
            applied.jobs,
            applied.verdicts,
            tally.changes,
            table=tally.table,
            run_id=applied.run_id,
            applied_at=tally.applied_at,
            dag_id=applied.dag_id,
            scope=applied.scope,
        )
    return {
        "table": tally.table,
        "rows": tally.rows,
        "runs": runs,
        "segments": [astuple(s) for s in tally.segments],
    }


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _write_parquet(frame: pd.DataFrame, destination: ObjectStoragePath) -> None:
    """Written locally, then published whole (a reader never sees half an entry)."""
    with tempfile.TemporaryDirectory(prefix="x-compliance-journal-") as scratch:
        local = Path(scratch) / "entry.parquet"
        frame.to_parquet(local, index=False)
        publish(local, destination)
