"""X's verdicts applied to a Delta Lake table of Posts (``deltalake``, delta-rs): one merge, one
commit, then nothing left that still holds a removed Post.

:func:`apply_to_delta_table` plans from the ID, author and geo columns of the table's current
files (the audit: which row of which data file, what change, X's reason), then makes one
``MERGE`` commit keyed on the Post ID: the removed Posts and the Posts of removed authors are
deleted, the geo columns of ``scrub_geo`` Posts set to null. Deleting a row only hides it
from the new version: the older versions still serve it by time travel, from the files the
merge replaced, and the log still names removed IDs in the min/max statistics of those files.
So the table is then cleaned: the log's retention (``delta.logRetentionDuration``) is set to
``retention_hours``, the replaced files older than that are vacuumed, a checkpoint written and
the commits before it that are older than that removed. With the default of no retention, the
only version left is the newest, and no file under the table root names a removed Post
(:mod:`~x_compliance.lake.delta_check` checks every one).

A retry of the same run finds its merge already committed: the commit carries the run's
application transaction (``app_id``, Delta's own idempotent-write marker) and names it in
``userMetadata``, and its audit was handed to ``before_commit`` before the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction

from x_compliance.files.sorted_ids import sorted_distinct
from x_compliance.lake.delta_storage import open_delta
from x_compliance.lake.parquet_dataset import post_and_user_ids
from x_compliance.lake.parquet_rows import POST_COLUMNS, PostColumns, audit_rows, row_changes
from x_compliance.lake.rewrite import audit_frame
from x_compliance.lake.verdicts import Verdicts

LOG_RETENTION = "delta.logRetentionDuration"
CHANGE_DATA_FEED = "delta.enableChangeDataFeed"
DELETE, SCRUB = "delete", "scrub"
BATCH_ROWS = 65_536
DELTA_LOG = "_delta_log"


def delta_tables(root: Any) -> Iterator[Any]:
    """The Delta tables under ``root`` (folders holding a ``_delta_log``, hidden ones left out),
    in name order; ``root`` is their folder, never a table itself, so what the files DAG keeps
    beside them (``.x-compliance``: its journal and audit) is no file of a table."""
    if (root / DELTA_LOG).exists():
        raise ValueError(f"{root} is a Delta table: give the folder that holds it as the dataset root")
    for child in sorted(root.iterdir(), key=str):
        if child.is_dir() and not child.name.startswith((".", "_")):
            if (child / DELTA_LOG).exists():
                yield child
            else:
                yield from delta_tables(child)


def records_in_delta_table(
    table_uri: Any, columns: PostColumns = POST_COLUMNS, storage_options: dict[str, str] | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The Post and author IDs of the table's current version, a batch at a time, as ``(ids,
    kinds)`` (:func:`~x_compliance.lake.parquet_dataset.post_and_user_ids`)."""
    source = str(table_uri)
    dataset = open_delta(table_uri, storage_options).to_pyarrow_dataset()
    columns.needed(dataset.schema.names, source)
    for batch in dataset.to_batches(columns=columns.keys, batch_size=BATCH_ROWS):
        yield post_and_user_ids(batch, columns, source)


def apply_to_delta_table(
    table_uri: Any,
    verdicts: Verdicts,
    *,
    retention_hours: int = 0,
    full_vacuum: bool | None = None,
    columns: PostColumns = POST_COLUMNS,
    storage_options: dict[str, str] | None = None,
    app_id: str | None = None,
    before_commit: Callable[[pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Apply ``verdicts`` to the Delta table at ``table_uri`` in one merge; return the audit
    (``rewrite.AUDIT_COLUMNS``: ``file`` the data file that held the row, ``line`` its row).

    ``retention_hours``: how long the versions before this run stay readable (0: none).
    ``full_vacuum``: also delete the files no version references (a crashed writer's, change
    data feed files), which may hold removed Posts too; with no retention it also deletes the
    files a concurrent writer has written and not committed yet. None (the default): only for
    a table with a change data feed, whose files under ``_change_data`` keep every deleted
    row and are named by no tombstone. ``storage_options``: delta-rs's (None: from the path
    and its connection, :mod:`~x_compliance.lake.delta_storage`). ``app_id``: names the
    merge's commit (a run's jobs); when the table already holds a commit of that name, nothing
    is merged again. ``before_commit``: called with the
    audit before the merge commits (the files DAG's journal stores it).
    """
    table = open_delta(table_uri, storage_options)
    if app_id is not None and table.transaction_version(app_id) is not None:
        _forget(table, retention_hours, full_vacuum=full_vacuum)
        return audit_frame([])
    source = str(table_uri)
    changes: list[tuple] = []
    deleted: list[np.ndarray] = []
    scrubbed: list[np.ndarray] = []
    dataset = table.to_pyarrow_dataset()
    needed = columns.needed(dataset.schema.names, source)
    geo_part = ",".join(columns.geo)
    for fragment in dataset.get_fragments():
        first = 1
        for batch in fragment.to_batches(columns=needed, batch_size=BATCH_ROWS, use_threads=False):
            found = row_changes(batch, verdicts, columns, fragment.path)
            if found:
                changes.extend(audit_rows(found, fragment.path, first, geo_part))
                deleted.append(found.ids[found.drop[found.rows]])
                scrubbed.append(found.ids[found.scrub[found.rows]])
            first += batch.num_rows
    audit = audit_frame(changes)
    if changes:
        if before_commit is not None:
            before_commit(audit)
        source_rows = _source(deleted, scrubbed, dataset.schema.field(columns.id).type, columns)
        _merge(table, source_rows, columns, app_id)
    _forget(table, retention_hours, full_vacuum=full_vacuum)
    return audit


def _source(
    deleted: list[np.ndarray], scrubbed: list[np.ndarray], id_type: pa.DataType, columns: PostColumns
) -> pa.Table:
    """One row per changed Post: its ID (as the table types it) and ``delete`` or ``scrub``; a
    Post one of whose rows goes goes whole."""
    gone = sorted_distinct(np.concatenate(deleted))
    kept = np.setdiff1d(np.concatenate(scrubbed), gone)
    ids = np.concatenate([gone, kept])
    change = [DELETE] * len(gone) + [SCRUB] * len(kept)
    return pa.table({columns.id: pa.array(ids).cast(id_type), "change": pa.array(change)})


def _merge(table: DeltaTable, source: pa.Table, columns: PostColumns, app_id: str | None) -> None:
    """The one commit of the run: delete and scrub the source's Posts wherever they are."""
    key = _quoted(columns.id)
    named = None
    if app_id is not None:
        named = CommitProperties(
            custom_metadata={"userMetadata": app_id}, app_transactions=[Transaction(app_id, 1)]
        )
    merge = table.merge(
        source, f"t.{key} = s.{key}", source_alias="s", target_alias="t", commit_properties=named
    )
    merge = merge.when_matched_delete(f"s.change = '{DELETE}'")
    geo = [name for name in columns.geo if name in table.schema().to_arrow().names]
    if geo:
        merge = merge.when_matched_update({_quoted(name): "NULL" for name in geo}, f"s.change = '{SCRUB}'")
    merge.execute()


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _forget(table: DeltaTable, retention_hours: int, *, full_vacuum: bool | None) -> None:
    """Leave no version older than ``retention_hours`` readable, nor any file or log entry it
    alone needed: vacuum, checkpoint, then the log before the checkpoint goes."""
    wanted = f"interval {retention_hours} hours"
    configuration = table.metadata().configuration
    if full_vacuum is None:
        full_vacuum = configuration.get(CHANGE_DATA_FEED, "false").lower() == "true"
    if configuration.get(LOG_RETENTION) != wanted:
        table.alter.set_table_properties({LOG_RETENTION: wanted})
    table.vacuum(retention_hours, dry_run=False, enforce_retention_duration=False, full=full_vacuum)
    table.create_checkpoint()
    table.cleanup_metadata()
