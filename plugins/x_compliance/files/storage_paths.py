"""Where files live: any ``ObjectStoragePath`` (file://, s3://, gs://...) or a plain local path,
and how a finished local file is published there atomically.

Atomic means a reader sees the whole file or nothing: locally a rename in the same folder;
on an object store a single ``put_file`` (the object appears when the upload completes).
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path
from typing import IO, Any

from airflow.sdk import ObjectStoragePath

LOCAL_PROTOCOLS = ("", "file", "local")


def as_storage_path(path: Any) -> ObjectStoragePath:
    if isinstance(path, ObjectStoragePath):
        return path
    return ObjectStoragePath(str(path))


def is_local(path: ObjectStoragePath) -> bool:
    return path.protocol in LOCAL_PROTOCOLS


def local_path(path: ObjectStoragePath) -> Path:
    return Path(path.path)


def local_file(source: Any) -> Path | None:
    """The local file ``source`` names (a plain path, or a ``file://`` one), or None for a file
    in an object store."""
    path = source if isinstance(source, ObjectStoragePath) else os.fspath(source)
    if isinstance(path, str) and "://" not in path:
        return Path(path)
    path = as_storage_path(path)
    return local_path(path) if is_local(path) else None


def open_source(source: Any, mode: str = "rb") -> IO[bytes]:
    """Open a path string, ``pathlib.Path`` or ``ObjectStoragePath`` (s3://, gs://, file://)."""
    local = local_file(source)
    return local.open(mode) if local is not None else as_storage_path(source).open(mode)


def publish(local_file: Path, destination: Any) -> ObjectStoragePath:
    """Move a finished local file to ``destination`` so that it appears there all at once."""
    dest = as_storage_path(destination)
    if is_local(dest):
        target = local_path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(local_file, "rb+") as finished:
            os.fsync(finished.fileno())
        try:  # the same filesystem: one rename, atomic, and no second copy of the bytes
            os.replace(local_file, target)
            return dest
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        staging = target.parent / f".{target.name}.{uuid.uuid4().hex}.partial"
        try:
            with open(local_file, "rb") as src, open(staging, "wb") as dst:
                while block := src.read(8 << 20):
                    dst.write(block)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(staging, target)
        finally:
            staging.unlink(missing_ok=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.fs.put_file(str(local_file), dest.path)
    return dest
