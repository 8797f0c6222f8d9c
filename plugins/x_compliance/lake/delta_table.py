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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable

from x_compliance.lake.parquet_rows import POST_COLUMNS, PostColumns, audit_rows, row_changes
from x_compliance.lake.rewrite import audit_frame
from x_compliance.lake.verdicts import Verdicts

LOG_RETENTION = "delta.logRetentionDuration"
CHANGE_DATA_FEED = "delta.enableChangeDataFeed"
DELETE, SCRUB = "delete", "scrub"
BATCH_ROWS = 65_536


def apply_to_delta_table(
    table_uri: Any,
    verdicts: Verdicts,
    *,
    retention_hours: int = 0,
    full_vacuum: bool | None = None,
    columns: PostColumns = POST_COLUMNS,
    storage_options: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Apply ``verdicts`` to the Delta table at ``table_uri`` in one merge; return the audit
    (``rewrite.AUDIT_COLUMNS``: ``file`` the data file that held the row, ``line`` its row).

    ``retention_hours``: how long the versions before this run stay readable (0: none).
    ``full_vacuum``: also delete the files no version references (a crashed writer's, change
    data feed files), which may hold removed Posts too; with no retention it also deletes the
    files a concurrent writer has written and not committed yet. None (the default): only for
    a table with a change data feed, whose files under ``_change_data`` keep every deleted
    row and are named by no tombstone. ``storage_options``: delta-rs's, for a table in an
    object store.
    """
    table = DeltaTable(str(table_uri), storage_options=storage_options)
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
    if changes:
        _merge(table, _source(deleted, scrubbed, dataset.schema.field(columns.id).type, columns), columns)
    _forget(table, retention_hours, full_vacuum=full_vacuum)
    return audit_frame(changes)


def _source(
    deleted: list[np.ndarray], scrubbed: list[np.ndarray], id_type: pa.DataType, columns: PostColumns
) -> pa.Table:
    """One row per changed Post: its ID (as the table types it) and ``delete`` or ``scrub``; a
    Post one of whose rows goes goes whole."""
    gone = np.unique(np.concatenate(deleted))
    kept = np.setdiff1d(np.concatenate(scrubbed), gone)
    ids = np.concatenate([gone, kept])
    change = [DELETE] * len(gone) + [SCRUB] * len(kept)
    return pa.table({columns.id: pa.array(ids).cast(id_type), "change": pa.array(change)})


def _merge(table: DeltaTable, source: pa.Table, columns: PostColumns) -> None:
    """The one commit of the run: delete and scrub the source's Posts wherever they are."""
    key = _quoted(columns.id)
    merge = table.merge(source, f"t.{key} = s.{key}", source_alias="s", target_alias="t")
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
