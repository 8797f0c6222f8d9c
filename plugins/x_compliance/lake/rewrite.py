"""Rewrite one twarc2 file with X's verdicts applied, whole or not at all, and say what changed.

The file streams line by line (one line in memory, whatever the file's size). The verdicts
that concern it are looked up once, for the IDs its manifest holds. A line none of whose IDs
is flagged is copied as its bytes without being parsed; a line naming a flagged ID is parsed,
changed (:func:`~x_compliance.lake.line_changes.change_line`) and, when something changed,
written again as compact UTF-8 JSON with its own line ending. The new file is written
beside the original under a hidden temporary name and replaces it in one step
(:func:`~x_compliance.files.storage_paths.publish`): a crash leaves the old file or the new
one. A file whose manifest holds no flagged ID is never opened, and one in which nothing
changed is left as it was (same bytes, same modification time).
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from x_compliance.exceptions import DataFileChangedError
from x_compliance.files.sorted_ids import sorted_distinct
from x_compliance.files.storage_paths import as_storage_path, local_file, open_source, publish
from x_compliance.lake.line_changes import change_line
from x_compliance.lake.manifest import (
    POST_ID,
    USER_ID,
    Manifest,
    ManifestWriter,
    current_manifest,
    file_stamp,
)
from x_compliance.lake.twarc_lines import (
    Line,
    Records,
    as_ids,
    collector_paused,
    ids_in,
    iter_raw_lines,
    read_line,
    record_values,
)
from x_compliance.lake.verdicts import FileVerdicts, Verdicts
from x_compliance.warehouse.tables import GEO_SCRUBBED

AUDIT_COLUMNS = ["record_id", "kind", "file", "line", "part", "change", "reason"]
TEMP_SUFFIX = ".x-compliance-tmp"
WRITEBACK_BYTES = 8 << 20


def rewrite_file(
    data_file: Any,
    verdicts: Verdicts,
    *,
    manifest: Manifest | None = None,
    before_swap: Callable[[pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Apply ``verdicts`` to one twarc2 file; return its audit rows (``AUDIT_COLUMNS``: the
    record, Post or user, the file, the line it was on, where in the line, the change and X's
    reason), empty when nothing changed.

    ``manifest``: the file's current manifest when the caller already has it; otherwise it is
    read (or built, which checks every line: bad input is refused before anything is written).
    ``before_swap``: called with the audit rows once the new file is ready, before it replaces
    the old one (the journal stores them there: :mod:`~x_compliance.lake.journal`).
    """
    path = as_storage_path(data_file)
    manifest = manifest or current_manifest(path)
    concern = verdicts.for_file(manifest.iter_ids())
    if concern is None:
        return audit_frame([])
    local = local_file(path)
    staged = staging_beside(local) if local is not None else staging_local()
    try:
        changes, held = _write_changed(path, staged, concern, manifest.records)
        if changes:
            if file_stamp(path) != manifest.stamp:
                raise DataFileChangedError(str(path))
            gone = _gone(changes, held)
            if before_swap is not None:
                before_swap(audit_frame(changes))
            publish(staged, path)
            _publish_kept(path, manifest, gone)
    finally:
        staged.unlink(missing_ok=True)
    return audit_frame(changes)


def _gone(changes: list[tuple], held: np.ndarray) -> np.ndarray:
    """The IDs of removed records that the new file no longer holds as a record, as a fresh read
    would find them (a removed user still named by a mention, or as the author of a Post that
    stays, is still there)."""
    removed = sorted_distinct(np.array([row[0] for row in changes if row[5] != GEO_SCRUBBED], np.int64))
    return removed[~np.isin(removed, held)]


def _publish_kept(path: Any, manifest: Manifest, gone: np.ndarray) -> None:
    """The new file's manifest: the old one's IDs and kinds, less those ``gone``."""
    with ManifestWriter() as kept:
        for ids, kinds in manifest.iter_records():
            stays = ~np.isin(ids, gone)
            for kind in (POST_ID, USER_ID):
                kept.add(ids[stays & (kinds == kind)], kind)
        kept.publish(path, manifest.records, file_stamp(path))


def _write_changed(
    path: Any, staged: Path, concern: FileVerdicts, records: Records
) -> tuple[list[tuple], np.ndarray]:
    """Stream ``path`` into ``staged`` with the verdicts applied; return the audit rows and
    the flagged IDs the new file still holds as records. Only a line naming a flagged ID can
    hold one, so only the lines parsed are looked at.

    Which lines name one is found in their bytes (:func:`ids_in`), without parsing them; after
    a line that held one (in a file dense with flags nearly every line does) the next line is
    parsed straight away, and its change says whether it held one."""
    source = str(path)
    flagged = concern.flagged()
    changes: list[tuple] = []
    held: set[str] = set()  # at most the file's flagged IDs
    parse_next = False
    with open_source(path) as src, _WrittenBack(staged) as out, collector_paused():
        for number, line in iter_raw_lines(src, source=source):
            if parse_next or not flagged.isdisjoint(ids_in(line)):
                parsed = read_line(
                    line, source=source, line_number=number, exact_numbers=True, records=records
                )
                keep, line_changes = change_line(parsed.shape, parsed.records, parsed.obj, concern)
                if line_changes:
                    changes.extend(
                        (int(record), kind, source, number, part, change, reason)
                        for kind, record, part, change, reason in line_changes
                    )
                    line = dump_like(line, parsed) if keep else b""
                still = _flagged_in(parsed, flagged) if keep else set()
                held |= still
                parse_next = bool(line_changes or still)
            out.write(line)
    return changes, as_ids(held)


class _WrittenBack:
    """The staged file, written as a stream whose pages are handed to the disk every
    ``WRITEBACK_BYTES`` (``posix_fadvise``, which starts their writeback and does not wait):
    the disk writes while the next lines are changed, and the fsync before the swap
    (:func:`~x_compliance.files.storage_paths.publish`) waits for the last few MB only."""

    def __init__(self, path: Path) -> None:
        self._out = path.open("wb")
        self._written = self._sent = 0

    def __enter__(self) -> _WrittenBack:
        return self

    def __exit__(self, *exc: object) -> None:
        self._out.close()

    def write(self, data: bytes) -> None:
        self._written += self._out.write(data)
        pending = self._written - self._sent
        if pending >= WRITEBACK_BYTES and hasattr(os, "posix_fadvise"):  # not on macOS
            self._out.flush()
            os.posix_fadvise(self._out.fileno(), self._sent, pending, os.POSIX_FADV_DONTNEED)
            self._sent = self._written


def _flagged_in(line: Line, flagged: set[str]) -> set[str]:
    """Which of ``flagged`` the line holds as records (:func:`record_values`)."""
    posts, users = record_values(line)
    return flagged.intersection(posts).union(flagged.intersection(users))


def dump_like(original: bytes, line: Line) -> bytes:
    """``line``'s value as one line of compact JSON with ``original``'s line ending: UTF-8 by
    orjson, or ASCII by ``json`` for a line that only ``json`` reads (it keeps NaN, Infinity,
    integers past 64 bits and lone surrogates as they were)."""
    ending = original[len(original.rstrip(b"\r\n")) :]
    if line.by_orjson:
        return orjson.dumps(line.obj) + ending
    return json.dumps(line.obj, separators=(",", ":")).encode() + ending


def staging_beside(local: Path) -> Path:
    """A hidden name in the file's own folder (so the replace is one rename), after removing
    what a crashed rewrite of the same file left there."""
    for stale in local.parent.glob(f".{glob.escape(local.name)}.*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)
    return local.parent / f".{local.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"


def staging_local() -> Path:
    """For a file in an object store: a local file, published by one upload."""
    return Path(tempfile.gettempdir()) / f"x-compliance-{uuid.uuid4().hex}{TEMP_SUFFIX}"


def audit_frame(changes: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(changes, columns=AUDIT_COLUMNS)
    return frame.astype({"record_id": "int64", "line": "int64"})
