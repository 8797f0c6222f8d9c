"""Reading ID files: block by block, each line normalized and checked by the ID rule
(:mod:`x_compliance.files.ids`), and validating a whole file once before it is uploaded.

ID files come from warehouses someone else fills, with BOMs, ``\\r\\n``, padding and blank
lines, so every line is normalized; anything still not an ID is an error naming the file, line
and value. A block whose lines are all IDs as they stand (every block of an exported file)
passes a C-speed check and is used as it is; only the others are split into lines in Python.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

from x_compliance.exceptions import IdFileChangedError, InvalidIdError, XComplianceError
from x_compliance.files.ids import count_id_lines, id_problem
from x_compliance.files.limits import MAX_ID_LINE
from x_compliance.files.lines import iter_line_blocks
from x_compliance.files.storage_paths import local_file, open_source
from x_compliance.files.validated import ValidatedIdFile, file_stamp

# Large enough that numpy's cost per call vanishes, small enough that the allocator reuses a
# freed block's memory rather than fault in fresh pages for each one (which costs more than the
# checks themselves with blocks of a few MiB: make bench, upload stage).
BLOCK_SIZE = 512 << 10
NOTHING_UPLOADED = "nothing was uploaded"
_STRIP = b" \t\r\x0b\x0c"
_BOM = b"\xef\xbb\xbf"


class IdBlock(NamedTuple):
    """One block of an ID file: ``data``, one ID a line, is ``raw`` itself (the same object)
    when the block was already so, else ``raw`` normalized."""

    data: bytes
    ids: int
    raw: bytes

    @property
    def as_it_stands(self) -> bool:
        return self.data is self.raw


def iter_id_blocks(
    source: Any, *, block_size: int = BLOCK_SIZE, job_id: str | None = None, outcome: str = NOTHING_UPLOADED
) -> Iterator[IdBlock]:
    """The blocks of ``source`` (a path or ``ObjectStoragePath``), every line checked.

    Streams: at most one block (plus one partial line) is in memory at a time. Raises
    ``InvalidIdError`` at the first line that is not an ID (``outcome`` says what that left
    undone) and ``LineTooLongError`` at a line longer than :data:`MAX_ID_LINE`, as soon as seen.
    """
    name = str(source)
    with open_source(source) as fh:
        for raw, first_line in iter_line_blocks(
            fh, block_size, max_line=MAX_ID_LINE, source=name, job_id=job_id
        ):
            count = count_id_lines(raw)
            if count is not None:
                yield IdBlock(raw, count, raw)
            else:
                yield IdBlock(*_normalized(raw, name, first_line, job_id, outcome), raw)


def count_ids(source: Any) -> int | None:
    """How many IDs ``source`` holds, each line read as for an upload; None when it cannot be
    read or holds a line that is no ID (nothing was asked of it but a count)."""
    try:
        with closing(iter_id_blocks(source)) as blocks:
            return sum(block.ids for block in blocks)
    except (OSError, XComplianceError):
        return None


def _normalized(
    block: bytes, name: str, first_line: int, job_id: str | None, outcome: str
) -> tuple[bytes, int]:
    """``block`` (whole lines but maybe the last) one ID a line, and how many: padding, ``\\r``
    and a BOM stripped, blank lines dropped, a last newline added."""
    out = []
    for offset, raw in enumerate(block.split(b"\n")):
        line = raw.strip(_STRIP)
        if line.startswith(_BOM):
            line = line[len(_BOM) :].strip(_STRIP)
        if not line:
            continue
        if (problem := id_problem(line)) is not None:
            value = raw.decode("utf-8", "replace").rstrip("\r")
            raise InvalidIdError(
                name, first_line + offset, value, job_id=job_id, reason=problem, outcome=outcome
            )
        out.append(line)
    return b"".join(line + b"\n" for line in out), len(out)


@contextmanager
def validated_id_file(source: Any, *, job_id: str | None = None) -> Iterator[ValidatedIdFile]:
    """Check every line of ``source`` once, streaming, before anything is sent; yield the file
    to send.

    That is ``source`` itself when every line is already an ID as X takes it (an exported
    file). Otherwise it is a normalized copy in a scratch file, written from the first block
    that needs it (the blocks before are copied as they stand) and removed however the ``with``
    block ends; so is any ID file in an object store, which is read once. Raises
    ``InvalidIdError`` or ``LineTooLongError`` naming file and line, ``XComplianceError`` when
    the file holds no ID, and ``IdFileChangedError`` when it changed while it was read.
    """
    name = str(source)
    local = local_file(source)
    with ExitStack() as cleanup:
        before = file_stamp(local) if local is not None else None
        scratch = cleanup.enter_context(_scratch_file()) if local is None else None
        ids = read = 0
        with closing(iter_id_blocks(source, job_id=job_id)) as blocks:
            for block in blocks:
                if scratch is None and not block.as_it_stands:
                    scratch = cleanup.enter_context(_scratch_file())
                    _copy_start(local, scratch, read)
                if scratch is not None:
                    scratch.write(block.data)
                ids += block.ids
                read += len(block.raw)
        if not ids:
            to_job = f" to job {job_id}" if job_id else ""
            raise XComplianceError(f"{name} holds no IDs: nothing to upload{to_job}")
        if local is not None and file_stamp(local) != before:
            raise IdFileChangedError(name, read, job_id=job_id)
        if scratch is None:
            yield ValidatedIdFile(local, ids, read, name, job_id, before)
        else:
            scratch.flush()
            stamp = file_stamp(scratch.fileno())
            yield ValidatedIdFile(Path(scratch.name), ids, stamp[0], name, job_id, stamp)


@contextmanager
def _scratch_file() -> Iterator[IO[bytes]]:
    """A new file in the temporary folder, removed when the caller's ``with`` block ends."""
    with tempfile.NamedTemporaryFile(prefix="x-compliance-ids-", suffix=".txt", delete=False) as fh:
        try:
            yield fh
        finally:
            os.unlink(fh.name)


def _copy_start(path: Path, out: IO[bytes], nbytes: int) -> None:
    """Copy the first ``nbytes`` of ``path``: the blocks validated before one needed normalizing.
    (A file that changed meanwhile is caught by its stamp once validation ends.)"""
    with open(path, "rb") as fh:
        while nbytes and (data := fh.read(min(nbytes, BLOCK_SIZE))):
            out.write(data)
            nbytes -= len(data)
