"""A small ID manifest per data file: every Post and user ID the file holds, so a run knows
which files hold flagged records, and which IDs to send X, without reading them all again.

The manifest is a Parquet file of an ``id`` and a ``kind`` column (a Post's ID, or a user's:
an account, an author, a mention) in a ``.x-compliance-manifest`` folder beside the data file,
stamped with the file's size and modification time (its ETag on an object store). IDs are
written as the file streams, a row group of distinct IDs at a time, and read back a row group
at a time: memory stays flat whatever the file's size. A manifest whose stamp no longer
matches is stale: the file is read again, checked line by line
(:func:`~x_compliance.lake.twarc_lines.read_line`: malformed JSON, a line that is no page or
record, Posts and users in one file are refused) and the manifest written anew. So a current
manifest also says the file was read whole and found sound.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from x_compliance.exceptions import MixedRecordsError
from x_compliance.files.sorted_ids import find_sorted, sorted_distinct
from x_compliance.files.storage_paths import as_storage_path, local_file, open_source, publish
from x_compliance.lake.twarc_lines import (
    Records,
    as_ids,
    collector_paused,
    iter_raw_lines,
    read_line,
    record_values,
)

MANIFEST_FOLDER = ".x-compliance-manifest"
_STAMP, _RECORDS = b"x_compliance.stamp", b"x_compliance.records"
_VERSION, VERSION = b"x_compliance.manifest", b"2"  # an older manifest is stale: built again
_SCHEMA = pa.schema([("id", pa.int64()), ("kind", pa.int8())])
POST_ID, USER_ID = 0, 1  # the ``kind`` of an ID
# IDs gathered before their distinct ones are written as a row group: 2 MB at a time (a larger
# group saves little and costs tens of MB at the peak).
ROW_GROUP_IDS = 1 << 18


@dataclass(frozen=True)
class Manifest:
    """A stored manifest: where it is, what the file's records are, and the file's stamp."""

    location: ObjectStoragePath
    records: Records
    stamp: str

    def iter_ids(self) -> Iterator[np.ndarray]:
        """The IDs, a row group at a time (distinct within a row group and kind, sorted)."""
        for ids, _ in self.iter_records():
            yield ids

    def iter_records(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(ids, kinds)`` a row group at a time (``POST_ID`` or ``USER_ID`` each)."""
        with open_source(self.location) as fh:
            stored = pq.ParquetFile(fh)
            for group in range(stored.num_row_groups):
                table = stored.read_row_group(group, columns=["id", "kind"])
                yield table.column("id").to_numpy(), table.column("kind").to_numpy()

    def holds_any(self, ids: np.ndarray) -> bool:
        """Whether the file holds any of ``ids`` (sorted, as ``Verdicts.flagged_ids`` gives them)."""
        return len(ids) > 0 and any(find_sorted(ids, held)[1].any() for held in self.iter_ids())


class ManifestWriter:
    """IDs streamed into a local Parquet file, then published beside the data file."""

    def __init__(self) -> None:
        fd, name = tempfile.mkstemp(suffix=".ids.parquet")
        os.close(fd)
        self._staged = Path(name)
        self._writer = pq.ParquetWriter(name, _SCHEMA)
        self._parts: dict[int, list[np.ndarray]] = {POST_ID: [], USER_ID: []}
        self._values: dict[int, set[str]] = {POST_ID: set(), USER_ID: set()}
        self._pending = 0

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()
        self._staged.unlink(missing_ok=True)

    def add(self, ids: np.ndarray, kind: int = POST_ID) -> None:
        self._parts[kind].append(ids)
        self._pending += len(ids)
        if self._pending >= ROW_GROUP_IDS:
            self._flush()

    def add_values(self, values: list[str], kind: int) -> None:
        """IDs as a line writes them (:func:`~x_compliance.lake.twarc_lines.record_values`),
        kept as distinct values until a row group's worth came: an ID a file repeats (an author
        of many Posts) is converted once a group."""
        self._values[kind].update(values)
        self._pending += len(values)
        if self._pending >= ROW_GROUP_IDS:
            self._flush()

    def _flush(self) -> None:
        for kind, distinct in self._values.items():
            if distinct:
                self._parts[kind].append(as_ids(distinct))
        self._values = {POST_ID: set(), USER_ID: set()}
        parts = self._parts.items()
        columns = [(sorted_distinct(np.concatenate(found)), kind) for kind, found in parts if found]
        if columns:
            ids = np.concatenate([distinct for distinct, _ in columns])
            kinds = np.concatenate([np.full(len(distinct), kind, np.int8) for distinct, kind in columns])
            self._writer.write_table(pa.table({"id": ids, "kind": kinds}, schema=_SCHEMA))
        self._parts, self._pending = {POST_ID: [], USER_ID: []}, 0

    def publish(self, data_file: Any, records: Records, stamp: str) -> Manifest:
        """Store the manifest of ``data_file`` (whole or not at all) with the file's stamp."""
        self._flush()
        meta = {_STAMP: stamp.encode(), _RECORDS: records.value.encode(), _VERSION: VERSION}
        self._writer.add_key_value_metadata(meta)
        self._writer.close()
        location = publish(self._staged, manifest_path(data_file))
        return Manifest(location, records, stamp)


def manifest_path(data_file: Any) -> ObjectStoragePath:
    path = as_storage_path(data_file)
    return path.parent / MANIFEST_FOLDER / f"{path.name}.ids.parquet"


def file_stamp(data_file: Any) -> str:
    """The file's size and modification time (ns) locally; its size and ETag (or modification
    time) on an object store: what changes whenever the file is written."""
    local = local_file(data_file)
    if local is not None:
        stat = local.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    path = as_storage_path(data_file)
    info = path.fs.info(path.path)
    version = info.get("ETag") or info.get("mtime") or info.get("LastModified") or info.get("created")
    return f"{info['size']}:{version}"


def current_manifest(data_file: Any) -> Manifest:
    """The file's manifest, read again from the file (and stored) when it is missing or stale."""
    stored = read_manifest(data_file)
    if stored is not None and stored.stamp == file_stamp(data_file):
        return stored
    return build_manifest(data_file)


def read_manifest(data_file: Any) -> Manifest | None:
    """The stored manifest of ``data_file`` (its footer only), or None."""
    location = manifest_path(data_file)
    if not location.exists():
        return None
    with open_source(location) as fh:
        meta = pq.ParquetFile(fh).metadata.metadata or {}
    if meta.get(_VERSION) != VERSION or _STAMP not in meta or _RECORDS not in meta:
        return None
    return Manifest(location, Records(meta[_RECORDS].decode()), meta[_STAMP].decode())


def build_manifest(data_file: Any) -> Manifest:
    """Read the whole file once, every line checked and every ID gathered; store the manifest."""
    source = str(data_file)
    stamp = file_stamp(data_file)
    kind, first = Records.NONE, 0
    with ManifestWriter() as manifest, open_source(data_file) as fh, collector_paused():
        for number, line in iter_raw_lines(fh, source=source):
            parsed = read_line(line, source=source, line_number=number)
            records = parsed.records
            if records is not Records.NONE:
                if kind is Records.NONE:
                    kind, first = records, number
                elif records is not kind:
                    raise MixedRecordsError(
                        source, number, f"{records.value} after the {kind.value} of line {first}"
                    )
            posts, users = record_values(parsed)
            manifest.add_values(posts, POST_ID)
            manifest.add_values(users, USER_ID)
        return manifest.publish(data_file, kind, stamp)
