"""What X's verdicts do to a batch of Post rows (Arrow columns), all rows at once: which go,
which lose their geo, and the audit of each, by the warehouse's rule
(:mod:`~x_compliance.warehouse.tables`): a removed Post goes, a ``scrub_geo`` Post keeps its
row with its geo columns set to null, a Post whose author was deleted, deactivated, protected
or suspended goes too (``cascade_deleted``). Parquet files and Delta tables share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from x_compliance.exceptions import ParquetColumnError
from x_compliance.files.arrow import to_numpy
from x_compliance.files.sorted_ids import find_sorted
from x_compliance.lake.verdicts import Verdicts
from x_compliance.warehouse.tables import CASCADE_DELETED, DELETED, GEO_SCRUBBED

POST = "post"
ROW = "row"  # the audit's ``part`` of a row that went whole


@dataclass(frozen=True)
class PostColumns:
    """Where a Post table keeps what the verdicts need: the Post's ID, its author's ID (None:
    the table has none, so a removed user's Posts cannot be found in it) and the geo columns
    ``scrub_geo`` sets to null (those of the demo warehouse's ``tweets``)."""

    id: str = "id"
    author: str | None = "author_id"
    geo: tuple[str, ...] = ("geo_lat", "geo_lon", "place_id")

    @property
    def keys(self) -> list[str]:
        """The ID columns: the Post's, and its author's when the table has one."""
        return [self.id] if self.author is None else [self.id, self.author]

    def needed(self, names: list[str], source: str) -> list[str]:
        """The columns of a file with ``names`` to read for its verdicts; a missing ID or author
        column is refused."""
        for column in (self.id, self.author):
            if column is not None and column not in names:
                raise ParquetColumnError(source, column, "is missing")
        return self.keys + [name for name in self.geo if name in names]


POST_COLUMNS = PostColumns()


@dataclass(frozen=True)
class RowChanges:
    """The changed rows of a batch: ``drop`` and ``scrub`` masks over its rows, and per changed
    row (in row order) its position, Post ID, change and reason."""

    drop: np.ndarray
    scrub: np.ndarray
    rows: np.ndarray
    ids: np.ndarray
    changes: np.ndarray
    reasons: np.ndarray

    def __bool__(self) -> bool:
        return bool(len(self.rows))


def id_column(rows: pa.Table | pa.RecordBatch, column: str, source: str) -> np.ndarray:
    """A column of IDs as int64 (integers, or text as X writes them); a null is no ID (-1)."""
    values = rows.column(column)
    kind = values.type
    if not (pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise ParquetColumnError(source, column, f"holds {kind}, not IDs (integers or text)")
    try:
        values = pc.cast(values, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ParquetColumnError(source, column, f"holds a value that is no ID ({exc})") from None
    return to_numpy(pc.fill_null(values, -1))


def _at(flags: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``flags`` (one per flagged record) at the positions ``find_sorted`` gave; none when empty."""
    return flags[at] if len(flags) else np.zeros(len(at), bool)


def row_changes(
    rows: pa.Table | pa.RecordBatch, verdicts: Verdicts, columns: PostColumns, source: str
) -> RowChanges:
    """What ``verdicts`` ask of ``rows`` (which hold at least ``columns.needed``)."""
    posts, users = verdicts.posts, verdicts.users  # the sorted arrays, looked up all at once
    ids = id_column(rows, columns.id, source)
    at, hit = find_sorted(posts.ids, ids)
    deleted = hit & _at(posts.removes, at)
    cascaded = np.zeros(len(ids), bool)
    if columns.author is not None:
        by, author_hit = find_sorted(users.ids, id_column(rows, columns.author, source))
        cascaded = author_hit & _at(users.cascades, by) & ~deleted
    geo = [name for name in columns.geo if name in rows.schema.names]
    has_geo = np.zeros(len(ids), bool)
    for name in geo:
        has_geo |= pc.is_valid(rows.column(name)).to_numpy(zero_copy_only=False)
    drop = deleted | cascaded
    scrub = hit & ~_at(posts.removes, at) & has_geo & ~drop
    changed = np.flatnonzero(drop | scrub)
    change = np.where(deleted[changed], DELETED, np.where(cascaded[changed], CASCADE_DELETED, GEO_SCRUBBED))
    reason = np.empty(len(changed), object)
    own = ~cascaded[changed]
    reason[own] = posts.reasons.to_numpy()[posts.codes[at[changed[own]]]]
    if columns.author is not None:
        reason[~own] = users.reasons.to_numpy()[users.codes[by[changed[~own]]]]
    return RowChanges(drop, scrub, changed, ids[changed], change, reason)


def changed_rows(rows: pa.Table, changes: RowChanges, geo: tuple[str, ...]) -> pa.Table:
    """``rows`` with the changes made: the scrubbed rows' geo set to null, the dropped ones gone."""
    if changes.scrub.any():
        scrub = pa.array(changes.scrub)
        for name in geo:
            if name in rows.schema.names:
                at = rows.schema.get_field_index(name)
                column = rows.column(at)
                nulled = pc.if_else(scrub, pa.scalar(None, column.type), column)
                rows = rows.set_column(at, rows.schema.field(at), nulled)
    if changes.drop.any():
        rows = rows.filter(pa.array(~changes.drop))
    return rows


def audit_of(batches: list[tuple[int, RowChanges]], source: str, geo_part: str) -> pd.DataFrame:
    """The audit (``rewrite.AUDIT_COLUMNS``) of a file's changed batches, each given with the
    1-based position in the file of its first row: the text columns categorical (the file's
    name, the change and the reason held once, not once a row)."""
    change = np.concatenate([c.changes for _, c in batches] or [[]]).astype(object)
    one = np.zeros(len(change), np.int8)
    return pd.DataFrame(
        {
            "record_id": np.concatenate([c.ids for _, c in batches] or [[]]).astype(np.int64),
            "kind": pd.Categorical.from_codes(one, [POST]),
            "file": pd.Categorical.from_codes(one, [source]),
            "line": np.concatenate([first + c.rows for first, c in batches] or [[]]).astype(np.int64),
            "part": _categorical(np.where(change == GEO_SCRUBBED, geo_part, ROW)),
            "change": _categorical(change),
            "reason": _categorical(np.concatenate([c.reasons for _, c in batches] or [[]]).astype(object)),
        }
    )


def _categorical(values: np.ndarray) -> pd.Categorical:
    """A few distinct texts (Python strings) as a categorical."""
    codes, categories = pd.factorize(values)
    return pd.Categorical.from_codes(codes.astype(np.int16), categories)


def audit_rows(changes: RowChanges, source: str, first_line: int, geo_part: str) -> list[tuple]:
    """The audit rows of one batch's ``changes`` as tuples (see :func:`audit_of`)."""
    return list(audit_of([(first_line, changes)], source, geo_part).itertuples(index=False, name=None))
