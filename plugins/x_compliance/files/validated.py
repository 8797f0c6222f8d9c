"""What validation hands to the upload: an ID file every line of which was checked, and the one
way to read it for sending, which refuses bytes that are not the ones validated.

Apart from the validation itself (:mod:`x_compliance.files.id_files`) so that the hook, which
sends these files and which the triggerer loads, imports nothing heavy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from x_compliance.exceptions import IdFileChangedError


def file_stamp(file: Path | int) -> tuple[int, int]:
    """``(size, mtime_ns)`` of a file (a path or an open descriptor): what changes when anyone
    writes to it."""
    status = os.stat(file)
    return status.st_size, status.st_mtime_ns


@dataclass(frozen=True)
class ValidatedIdFile:
    """An ID file ready to be sent as it is: every line an ID exactly as X takes it.

    Made only by :func:`~x_compliance.files.id_files.validated_id_file`.

    :param path: the local file to send: the ID file itself when every line already was an ID,
        else a normalized scratch copy that lives as long as the validation's ``with`` block.
    :param ids: how many IDs it holds.
    :param bytes: its size: what X receives.
    :param source: the ID file as it was named, for messages.
    :param job_id: the job it was validated for, for messages.
    :param stamp: :func:`file_stamp` of ``path`` as it was validated.
    """

    path: Path
    ids: int
    bytes: int
    source: str
    job_id: str | None
    stamp: tuple[int, int]

    @contextmanager
    def open(self) -> Iterator[UnchangedReader]:
        """The file, read through :class:`UnchangedReader`."""
        with open(self.path, "rb") as fh:
            yield UnchangedReader(fh, self)


class UnchangedReader:
    """``seek`` and ``read`` over a :class:`ValidatedIdFile` that raise
    :class:`~x_compliance.exceptions.IdFileChangedError` rather than hand out the last of its
    bytes when the file is no longer the one validated.

    A read that reaches the validated size (or ends short of it) first compares the file's size
    and modification time with the stamp of the file validated. Whoever sends the file
    thus gets the error in place of its last bytes: the upload stops unfinished and X keeps
    none of it (a plain PUT cut short is discarded, a resumable session never completes), the
    job still takes an upload, and a retry validates the file again.
    """

    def __init__(self, fh: IO[bytes], validated: ValidatedIdFile) -> None:
        self._fh = fh
        self._validated = validated
        self._at = 0

    def seek(self, offset: int) -> None:
        self._at = self._fh.seek(offset)

    def read(self, size: int) -> bytes:
        data = self._fh.read(size)
        self._at += len(data)
        if self._at >= self._validated.bytes or len(data) < size:
            self._check_unchanged()
        return data

    def _check_unchanged(self) -> None:
        validated = self._validated
        if self._at != validated.bytes or file_stamp(self._fh.fileno()) != validated.stamp:
            raise IdFileChangedError(
                validated.source, min(self._at, validated.bytes), job_id=validated.job_id
            )
