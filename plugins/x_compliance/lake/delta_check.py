"""Whether a Delta table still holds removed Posts anywhere: in any version time travel can
still read, or in any file under the table root, the ``_delta_log`` included.

A data file holds an ID as a value; a commit or checkpoint holds one in the min/max statistics
of the files it adds or removes, or in a predicate it records. So every file is searched for
the IDs as values of integer columns and as runs of digits in text (JSON lines, strings in
Parquet, a Parquet footer's statistics), a file at a time and a row group or line at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from x_compliance.files.storage_paths import as_storage_path, open_source
from x_compliance.lake.delta_storage import open_delta

_DIGITS = re.compile(rb"[0-9]{1,19}")


def delta_files_holding(table_uri: Any, ids: Iterable[int]) -> dict[str, list[int]]:
    """Every file under the table root that holds one of ``ids``, with the ones it holds."""
    wanted = pa.array(sorted({str(int(i)) for i in ids}), pa.string())
    root = as_storage_path(table_uri)
    root.fs.invalidate_cache()  # delta-rs writes behind the listings fsspec caches
    found: dict[str, list[int]] = {}
    for name in sorted(root.fs.find(root.path)):
        path = root / name[len(root.path) :].lstrip("/")
        held = _held(path, wanted)
        if held:
            found[str(path)] = sorted(held)
    return found


def delta_versions_holding(
    table_uri: Any,
    ids: Iterable[int],
    *,
    id_column: str = "id",
    storage_options: dict[str, str] | None = None,
) -> dict[int, int]:
    """For every version of the table time travel can still read: how many of its rows are
    one of ``ids`` (a version whose log or files are gone is left out)."""
    wanted = pa.array(sorted({int(i) for i in ids}), pa.int64())
    latest = open_delta(table_uri, storage_options).version()
    counts: dict[int, int] = {}
    for version in range(latest + 1):
        try:
            table = open_delta(table_uri, storage_options, version=version)
            dataset = table.to_pyarrow_dataset()
            hits = ds.field(id_column).cast(pa.int64()).isin(wanted)
            counts[version] = dataset.count_rows(filter=hits)
        except Exception as exc:  # delta-rs raises its own errors for a cleaned log
            if not _gone(exc):
                raise
    return counts


def _gone(exc: BaseException) -> bool:
    """Whether ``exc`` says a version's log or files no longer exist."""
    text = f"{type(exc).__name__}: {exc}"
    return any(
        words in text for words in ("No files in log segment", "NotFound", "not found", "No such file")
    )


def _held(path: Any, wanted: pa.Array) -> set[int]:
    if path.name.endswith(".parquet"):
        return _held_in_parquet(path, wanted)
    held: set[int] = set()
    with open_source(path) as fh:
        for line in fh:
            held |= _in_text(line, wanted)
    return held


def _in_text(text: bytes, wanted: pa.Array) -> set[int]:
    runs = _DIGITS.findall(text)
    if not runs:
        return set()
    tokens = pa.array([run.decode() for run in runs], pa.string())
    return {int(t) for t in tokens.filter(pc.is_in(tokens, value_set=wanted)).to_pylist()}


def _held_in_parquet(path: Any, wanted: pa.Array) -> set[int]:
    """The IDs a Parquet file holds, as values or in its footer's statistics."""
    held: set[int] = set()
    with open_source(path) as fh:
        stored = pq.ParquetFile(fh, pre_buffer=False)
        meta = stored.metadata
        for group in range(meta.num_row_groups):
            for column in range(meta.num_columns):
                stats = meta.row_group(group).column(column).statistics
                if stats is not None and stats.has_min_max:
                    held |= _in_text(f"{stats.min} {stats.max}".encode(), wanted)
            for leaf in _leaves(stored.read_row_group(group)):
                tokens = _tokens(leaf)
                if tokens is not None:
                    held |= {int(t) for t in tokens.filter(pc.is_in(tokens, value_set=wanted)).to_pylist()}
    return held


def _leaves(table: pa.Table) -> Iterator[pa.Array]:
    for column in table.columns:
        yield from _flatten(column.combine_chunks())


def _flatten(array: pa.Array) -> Iterator[pa.Array]:
    kind = array.type
    if pa.types.is_struct(kind):
        for k in range(kind.num_fields):
            yield from _flatten(array.field(k))
    elif pa.types.is_map(kind):
        yield from _flatten(array.keys)
        yield from _flatten(array.items)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        yield from _flatten(array.flatten())
    elif pa.types.is_dictionary(kind):
        yield from _flatten(array.dictionary)
    else:
        yield array


def _tokens(leaf: pa.Array) -> pa.Array | None:
    """A leaf's values as text: integers written out, strings split into their runs of digits."""
    if pa.types.is_integer(leaf.type):
        return pc.cast(leaf.drop_null(), pa.string())
    if pa.types.is_string(leaf.type) or pa.types.is_large_string(leaf.type):
        runs = pc.split_pattern_regex(leaf.drop_null().cast(pa.large_string()), r"[^0-9]+").flatten()
        return runs.filter(pc.greater(pc.utf8_length(runs), 0)).cast(pa.string())
    return None
