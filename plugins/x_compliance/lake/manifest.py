"""A small ID manifest per data file: every Post and user ID the file holds, so a run knows
which files hold flagged records without reading them all again.

The manifest is a Parquet file of one sorted ``id`` column in a ``.x-compliance-manifest``
folder beside the data file, stamped with the file's size and modification time (its ETag on
an object store). A manifest whose stamp no longer matches is stale: the file is read again,
checked line by line (:func:`~x_compliance.lake.twarc_lines.read_line`: malformed JSON, a
line that is no page or record, Posts and users in one file are refused) and the manifest
written anew. So a current manifest also says the file was read whole and found sound.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from x_compliance.exceptions import MixedRecordsError
from x_compliance.files.storage_paths import as_storage_path, local_file, open_source, publish
from x_compliance.lake.twarc_lines import Records, ids_in, iter_raw_lines, read_line

MANIFEST_FOLDER = ".x-compliance-manifest"
_STAMP, _RECORDS = b"x_compliance.stamp", b"x_compliance.records"
# IDs gathered before repeats are dropped: a few MB at a time, whatever the file's size.
_COMPACT_AT = 1 << 20


@dataclass(frozen=True)
class Manifest:
    """The IDs a file holds (sorted, unique), what its records are, and the file's stamp."""

    ids: np.ndarray
    records: Records
    stamp: str

    def holds_any(self, ids: np.ndarray) -> bool:
        """Whether the file holds any of ``ids`` (sorted, as ``Verdicts.flagged_ids`` gives them)."""
        if not len(self.ids) or not len(ids):
            return False
        at = np.searchsorted(ids, self.ids)
        at[at == len(ids)] = 0
        return bool((ids[at] == self.ids).any())


class IdSet:
    """IDs gathered as a file streams, repeats dropped every ``_COMPACT_AT`` of them."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = [np.empty(0, np.int64)]
        self._pending = 0

    def add(self, ids: np.ndarray) -> None:
        self._parts.append(ids)
        self._pending += len(ids)
        if self._pending >= _COMPACT_AT:
            self._parts, self._pending = [self.unique()], 0

    def unique(self) -> np.ndarray:
        return np.unique(np.concatenate(self._parts))


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
    stamp = file_stamp(data_file)
    stored = read_manifest(data_file)
    if stored is not None and stored.stamp == stamp:
        return stored
    manifest = build_manifest(data_file)
    write_manifest(data_file, manifest)
    return manifest


def read_manifest(data_file: Any) -> Manifest | None:
    path = manifest_path(data_file)
    if not path.exists():
        return None
    with open_source(path) as fh:
        table = pq.read_table(fh)
    meta = table.schema.metadata or {}
    if _STAMP not in meta or _RECORDS not in meta:
        return None
    ids = table.column("id").to_numpy()
    return Manifest(ids, Records(meta[_RECORDS].decode()), meta[_STAMP].decode())


def build_manifest(data_file: Any) -> Manifest:
    """Read the whole file once: every line checked, every ID gathered."""
    source = str(data_file)
    stamp = file_stamp(data_file)
    ids, kind, first = IdSet(), Records.NONE, 0
    with open_source(data_file) as fh:
        for number, line in iter_raw_lines(fh, source=source):
            _, records, _ = read_line(line, source=source, line_number=number)
            if records is not Records.NONE:
                if kind is Records.NONE:
                    kind, first = records, number
                elif records is not kind:
                    raise MixedRecordsError(
                        source,
                        number,
                        f"{records.value} after the {kind.value} of line {first}",
                    )
            ids.add(ids_in(line))
    return Manifest(ids.unique(), kind, stamp)


def write_manifest(data_file: Any, manifest: Manifest) -> None:
    """Store ``manifest`` beside ``data_file``, whole or not at all."""
    meta = {_STAMP: manifest.stamp.encode(), _RECORDS: manifest.records.value.encode()}
    table = pa.table({"id": pa.array(manifest.ids, pa.int64())}).replace_schema_metadata(meta)
    fd, staged = tempfile.mkstemp(suffix=".ids.parquet")
    os.close(fd)
    try:
        pq.write_table(table, staged)
        publish(Path(staged), manifest_path(data_file))
    finally:
        Path(staged).unlink(missing_ok=True)
