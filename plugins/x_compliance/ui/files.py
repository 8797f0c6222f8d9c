"""The files datasets the Compliance page shows as table sources: each configured root's Parquet
audit (``<root>/.x-compliance/audit/jobs-*.parquet``, :mod:`x_compliance.lake.journal`).

Every audit file's footer holds its jobs' ``compliance_runs`` rows and its segments (one job,
change and reason: a range of its rows, which are kept in that order), so the runs, the counts
and the pager's total come from the footers alone, and a page of rows reads the one or two row
groups that hold it: never the whole audit. A root that is missing, or an audit that cannot be
read, is a :class:`FilesSourceUnavailable` naming the source, which the page shows as such.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq

from x_compliance.exceptions import XComplianceError
from x_compliance.files.storage_paths import as_storage_path, open_source
from x_compliance.lake.audit_summary import dataset_name, public_root
from x_compliance.lake.journal import SUMMARY_KEY, state_folder
from x_compliance.ui.coverage import Coverage, coverage
from x_compliance.warehouse.runs import Segment

FILES_ROOTS_ENV = "X_COMPLIANCE_FILES_ROOTS"
FILES_FIELDS = ("changed_at", "table_name", "record_id", "change", "reason", "job_id", "run_id",
                "kind", "file", "line", "part")  # fmt: skip
CSV_GROUPS = 1  # row groups per read of the export: a few MB


class FilesSourceUnavailable(XComplianceError):
    """A configured files dataset cannot be shown: its root is missing or its audit unreadable."""


def files_roots() -> list[str]:
    """The dataset roots the page shows: ``$X_COMPLIANCE_FILES_ROOTS`` (separated by commas or
    spaces), else the files DAG's own ``$X_COMPLIANCE_FILES_ROOT``, else none."""
    listed = os.environ.get(FILES_ROOTS_ENV) or os.environ.get("X_COMPLIANCE_FILES_ROOT") or ""
    return [root for root in re.split(r"[,\s]+", listed) if root]


class FilesAudit:
    """One dataset root's Parquet audit, read the way the page reads the warehouse's: its runs,
    its segments, and a segment's rows from a position."""

    def __init__(self, root: str) -> None:
        self.root, self.shown, self.table = root, public_root(root), dataset_name(root)
        self.described = f"files dataset {self.shown}"
        self.managed_tables = (self.table,)
        self._runs: list[dict] = []
        self._where: dict[Segment, Any] = {}  # each segment's audit file
        for path in self._audit_files():
            summary = self._summary(path)
            self._runs += summary["runs"]
            for fields in summary["segments"]:
                self._where[Segment(*fields)] = path
        self._runs.sort(key=lambda r: (str(r["applied_at"]), str(r["job_id"])), reverse=True)

    def _audit_files(self) -> list[Any]:
        try:
            if not as_storage_path(self.root).exists():
                raise FilesSourceUnavailable(f"{self.described}: the root does not exist")
            folder = state_folder(self.root) / "audit"
            found = sorted(folder.iterdir(), key=str) if folder.exists() else []
        except FilesSourceUnavailable:
            raise
        except Exception as exc:  # the store refused: the page says so, without its details
            raise FilesSourceUnavailable(
                f"{self.described}: cannot be listed ({type(exc).__name__})"
            ) from None
        return [path for path in found if path.name.startswith("jobs-") and path.name.endswith(".parquet")]

    def _summary(self, path: Any) -> dict[str, Any]:
        try:
            with open_source(path) as fh:
                metadata = pq.read_metadata(fh).metadata or {}
            summary = json.loads(metadata[SUMMARY_KEY])
            return {"runs": list(summary["runs"]), "segments": list(summary["segments"])}
        except Exception as exc:
            raise FilesSourceUnavailable(
                f"{self.described}: its audit file {path.name} cannot be read ({type(exc).__name__})"
            ) from None

    def __enter__(self) -> FilesAudit:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def latest_runs(self) -> list[dict]:
        return list(self._runs)

    def coverage(self, days: int, now: datetime | None = None) -> Coverage:
        """The dataset's coverage over the last ``days`` days, from its runs (the footers): every
        run this audit holds is of this dataset, however its root was written when it ran."""
        now = now or datetime.now(UTC)
        since = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
        window = [{**run, "table_name": self.table} for run in self._runs if str(run["applied_at"]) >= since]
        first = min((str(run["applied_at"]) for run in self._runs), default=None)
        return coverage(self.table, window, days, first, now)

    def job(self, job_id: str) -> dict | None:
        return next((r for r in self._runs if str(r["job_id"]) == job_id), None)

    def segments(self, job_id: str = "") -> list[Segment]:
        """In the listing's order: newest apply first, then job, change and reason, descending."""
        chosen = [s for s in self._where if s.rows and job_id in ("", s.job_id)]
        return sorted(chosen, key=lambda s: (s.applied_at or "", s.job_id, s.change, s.reason), reverse=True)

    def job_counts(self, row: dict) -> dict[tuple[str, str, str], int]:
        counts: dict[tuple[str, str, str], int] = {}
        for s in self.segments(str(row["job_id"])):
            counts[(s.table, s.change, s.reason)] = counts.get((s.table, s.change, s.reason), 0) + s.rows
        return counts

    def read(self, segment: Segment, offset: int, count: int) -> list[dict]:
        """``count`` rows of ``segment`` from ``offset``, in the file's order (file, line):
        only the row groups that hold them are read."""
        start = segment.first_row + offset
        stop = min(start + count, segment.last_row + 1)
        with open_source(self._where[segment]) as fh:
            parquet = pq.ParquetFile(fh)
            groups, first = _groups_of(parquet.metadata, start, stop)
            table = parquet.read_row_groups(groups, columns=_present(parquet, FILES_FIELDS))
        rows = table.slice(start - first, stop - start).to_pylist()
        return [{**row, "table_name": segment.table} for row in rows]

    def batches(self, segment: Segment) -> Iterator[list[dict]]:
        """Every row of ``segment``, ``CSV_GROUPS`` row groups at a time."""
        start, stop = segment.first_row, segment.last_row + 1
        with open_source(self._where[segment]) as fh:
            parquet = pq.ParquetFile(fh)
            groups, first = _groups_of(parquet.metadata, start, stop)
            for at in range(0, len(groups), CSV_GROUPS):
                table = parquet.read_row_groups(
                    groups[at : at + CSV_GROUPS], columns=_present(parquet, FILES_FIELDS)
                )
                low, high = max(start, first), min(stop, first + table.num_rows)
                yield [
                    {**row, "table_name": segment.table}
                    for row in table.slice(low - first, high - low).to_pylist()
                ]
                first += table.num_rows


def _present(parquet: pq.ParquetFile, fields: tuple[str, ...]) -> list[str]:
    names = set(parquet.schema_arrow.names)
    return [f for f in fields if f in names]


def _groups_of(metadata: Any, start: int, stop: int) -> tuple[list[int], int]:
    """The row groups holding rows [start, stop) and the position of the first one's first row."""
    groups, first, at = [], None, 0
    for i in range(metadata.num_row_groups):
        n = metadata.row_group(i).num_rows
        if at < stop and at + n > start:
            groups.append(i)
            first = at if first is None else first
        at += n
    return groups, first or 0


def files_sources() -> list[tuple[int, str, FilesAudit | FilesSourceUnavailable]]:
    """(index, shown root, its audit or why it cannot be shown) of every configured root."""
    found = []
    for index, root in enumerate(files_roots()):
        try:
            found.append((index, public_root(root), FilesAudit(root)))
        except FilesSourceUnavailable as exc:
            found.append((index, public_root(root), exc))
    return found
