"""X's verdicts applied to a Parquet dataset of Posts partitioned by day
(``root/date=2026-11-20/part-0.parquet``, hive-style, on ``file://`` or ``s3://`` through
``ObjectStoragePath``), one file at a time, whole or not at all.

:func:`apply_to_parquet_file` first plans from the ID, author and geo columns alone, and only
for the row groups whose ID (or author) min/max statistics could hold a flagged one; a file with
nothing to change is never rewritten (same bytes, same modification time). A file with a change
streams row group by row group (one in memory, whatever the file's size) into a hidden file
beside it with the same schema, row groups and codecs, which then replaces it in one step
(:func:`~x_compliance.files.storage_paths.publish`): a crash leaves the old file or the new one.
:func:`ids_in_parquet_file` gives the Post IDs a file holds, a row group at a time, for the
run's ID export. Each function returns the audit (``rewrite.AUDIT_COLUMNS``): the Post, the
file, its row (1-based, ``line``), what was changed (``part``: ``row``, or the geo columns),
the change and X's reason. The files DAG reads no manifest for Parquet: the ID and author
columns of a 1M-row file read in about 25 ms, no more than a manifest of the same IDs would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from x_compliance.exceptions import DataFileChangedError
from x_compliance.files.storage_paths import as_storage_path, local_file, open_source, publish
from x_compliance.lake.manifest import POST_ID, USER_ID, file_stamp
from x_compliance.lake.parquet_rows import (
    POST_COLUMNS,
    PostColumns,
    RowChanges,
    audit_of,
    changed_rows,
    id_column,
    row_changes,
)
from x_compliance.lake.rewrite import audit_frame, staging_beside, staging_local
from x_compliance.lake.verdicts import Verdicts

PARTITION_KEY = "date"
# A codec as the footer names it, as the writer takes it.
_CODECS = {"UNCOMPRESSED": "NONE", "LZ4_RAW": "LZ4"}


def dataset_files(root: Any, dates: list[str] | None = None) -> Iterator[ObjectStoragePath]:
    """The data files of a dataset, by day (``root/date=DAY/*.parquet``, sorted); ``dates``:
    only those days. Hidden files (a rewrite's staging, ``_SUCCESS``) are not data."""
    root = as_storage_path(root)
    days = [root / f"{PARTITION_KEY}={day}" for day in dates] if dates is not None else None
    folders = days or sorted(p for p in root.iterdir() if p.name.startswith(f"{PARTITION_KEY}="))
    for folder in folders:
        if folder.exists():
            yield from sorted(p for p in folder.iterdir() if _is_data(p.name))


def _is_data(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def ids_in_parquet_file(data_file: Any, columns: PostColumns = POST_COLUMNS) -> Iterator[np.ndarray]:
    """The Post IDs of a file (int64), a row group at a time, read from the ID column alone."""
    for ids, _ in records_in_parquet_file(data_file, dataclasses.replace(columns, author=None)):
        yield ids


def records_in_parquet_file(
    data_file: Any, columns: PostColumns = POST_COLUMNS
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The Post IDs and author IDs of a file, a row group at a time, as ``(ids, kinds)``
    (``POST_ID`` or ``USER_ID`` each, as the files DAG exports them); a null is no ID."""
    source = str(data_file)
    with open_source(data_file) as fh:
        stored = pq.ParquetFile(fh, pre_buffer=False)
        columns.needed(stored.schema_arrow.names, source)
        for group in range(stored.num_row_groups):
            rows = stored.read_row_group(group, columns=columns.keys)
            yield post_and_user_ids(rows, columns, source)


def post_and_user_ids(rows: Any, columns: PostColumns, source: str) -> tuple[np.ndarray, np.ndarray]:
    """A batch's Post IDs and (when the table has them) author IDs, as ``(ids, kinds)``."""
    posts = id_column(rows, columns.id, source)
    parts = [(posts[posts >= 0], POST_ID)]
    if columns.author is not None:
        authors = id_column(rows, columns.author, source)
        parts.append((authors[authors >= 0], USER_ID))
    ids = np.concatenate([found for found, _ in parts])
    kinds = np.concatenate([np.full(len(found), kind, np.int8) for found, kind in parts])
    return ids, kinds


def apply_to_parquet_dataset(
    root: Any, verdicts: Verdicts, *, dates: list[str] | None = None, columns: PostColumns = POST_COLUMNS
) -> pd.DataFrame:
    """:func:`apply_to_parquet_file` over every file of the dataset (or of ``dates``); the audit
    returned holds every change, so it grows with them: the files DAG journals each file's
    instead (:mod:`~x_compliance.lake.apply`)."""
    audits = [apply_to_parquet_file(path, verdicts, columns=columns) for path in dataset_files(root, dates)]
    return pd.concat(audits, ignore_index=True) if audits else audit_frame([])


def apply_to_parquet_file(
    data_file: Any,
    verdicts: Verdicts,
    *,
    columns: PostColumns = POST_COLUMNS,
    before_swap: Callable[[pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Apply ``verdicts`` to one Parquet file of Posts; return its audit, empty when nothing
    changed (and the file was not written). ``before_swap``: called with the audit once the
    new file is ready, before it replaces the old one (the files DAG's journal stores it)."""
    path = as_storage_path(data_file)
    source = str(path)
    stamp = file_stamp(path)
    plan = _plan(path, verdicts, columns)
    if not plan:
        return audit_frame([])
    audit = audit_of(list(plan.values()), source, ",".join(columns.geo))
    local = local_file(path)
    staged = staging_beside(local) if local is not None else staging_local()
    try:
        _write_changed(path, staged, plan, columns)
        if file_stamp(path) != stamp:
            raise DataFileChangedError(source)
        if before_swap is not None:
            before_swap(audit)
        publish(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    return audit


def _plan(
    path: ObjectStoragePath, verdicts: Verdicts, columns: PostColumns
) -> dict[int, tuple[int, RowChanges]]:
    """The changes to make, by row group: (its first row's 1-based line, its changes)."""
    source = str(path)
    plan: dict[int, tuple[int, RowChanges]] = {}
    with open_source(path) as fh:
        stored = pq.ParquetFile(fh, pre_buffer=False)
        needed = columns.needed(stored.schema_arrow.names, source)
        first = 1
        for group in range(stored.num_row_groups):
            meta = stored.metadata.row_group(group)
            if _may_hold(meta, stored.schema_arrow.names, verdicts, columns):
                rows = stored.read_row_group(group, columns=needed, use_threads=False)
                changes = row_changes(rows, verdicts, columns, source)
                if changes:
                    plan[group] = (first, changes)
            first += meta.num_rows
    return plan


def _may_hold(meta: pq.RowGroupMetaData, names: list[str], verdicts: Verdicts, columns: PostColumns) -> bool:
    """Whether a row group's ID (or author) statistics leave room for a flagged one; without
    integer statistics, it may."""
    checks = [(columns.id, verdicts.posts.ids)]
    if columns.author is not None:
        checks.append((columns.author, verdicts.users.ids[verdicts.users.cascades]))
    for column, flagged in checks:
        stats = meta.column(names.index(column)).statistics
        if stats is None or not stats.has_min_max or not isinstance(stats.min, int):
            return True
        if np.searchsorted(flagged, stats.min) < np.searchsorted(flagged, stats.max, side="right"):
            return True
    return False


def _write_changed(
    path: ObjectStoragePath, staged: Path, plan: dict[int, tuple[int, RowChanges]], columns: PostColumns
) -> None:
    """Stream ``path`` into ``staged`` a row group at a time, the planned groups changed; the
    schema (and its metadata), row groups and each column's codec as they were."""
    with open_source(path) as fh:
        stored = pq.ParquetFile(fh, pre_buffer=False)
        meta = stored.metadata
        codecs = {}
        if meta.num_row_groups:
            first = meta.row_group(0)
            codecs = {
                first.column(i).path_in_schema: _CODECS.get(
                    first.column(i).compression, first.column(i).compression
                )
                for i in range(first.num_columns)
            }
        with pq.ParquetWriter(staged, stored.schema_arrow, compression=codecs or "snappy") as out:
            for group in range(stored.num_row_groups):
                rows = stored.read_row_group(group, use_threads=False)
                if group in plan:
                    rows = changed_rows(rows, plan[group][1], columns.geo)
                if rows.num_rows:
                    out.write_table(rows, row_group_size=rows.num_rows)
                del rows
                # pyarrow's allocator (mimalloc) keeps what a row group freed; handed back, the
                # peak is one row group's, not the largest few's
                pa.default_memory_pool().release_unused()
