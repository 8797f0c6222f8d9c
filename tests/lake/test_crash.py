"""A rewrite that dies leaves the whole old file (or, past the replace, the whole new one):
a process SIGKILLed mid-rewrite, and one whose writes start failing (the file size limit)."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.lake.conftest import REWRITE, any_grown_to, child, choose_flags, results, write_flags
from tests.lake.generate import FIRST_POST, page, write_pages
from x_compliance.exceptions import DataFileChangedError
from x_compliance.lake.manifest import current_manifest
from x_compliance.lake.rewrite import TEMP_SUFFIX, rewrite_file
from x_compliance.lake.verdicts import Verdicts

pytestmark = pytest.mark.slow  # child processes and files of tens of MB


def scratch(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def rewritten(path: Path, flags, folder: Path) -> bytes:
    """What the whole new file is: the same rewrite, run to its end on a copy."""
    copy = folder / path.name
    folder.mkdir()
    shutil.copy2(path, copy)
    rewrite_file(copy, Verdicts(posts=results(flags.posts), users=results(flags.users)))
    return copy.read_bytes()


def test_a_sigkill_mid_rewrite_leaves_a_whole_file(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    path = write_pages(data / "big.jsonl", 40_000)
    flags = choose_flags(path, 5, share=0.05)
    flags_file = write_flags(tmp_path / "flags.json", flags)
    old, new = path.read_bytes(), rewritten(path, flags, tmp_path / "copy")
    killed_mid_write = 0
    for written in (1 << 20, 8 << 20):
        proc = child(REWRITE, str(path), str(flags_file))
        while proc.poll() is None and not any_grown_to(scratch(data), written):
            time.sleep(0.002)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_write += 1
        proc.wait()
        if path.read_bytes() == new:  # the child finished before the kill: the whole new file
            break
        assert path.read_bytes() == old
    assert killed_mid_write, "the rewrite always finished before it could be killed"
    audit = rewrite_file(path, Verdicts(posts=results(flags.posts), users=results(flags.users)))
    assert len(audit) and path.read_bytes() == new
    assert scratch(data) == []  # what the killed rewrites left is gone with the next rewrite


def test_writes_failing_mid_rewrite_leave_the_old_file_and_no_scratch(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    path = write_pages(data / "big.jsonl", 20_000)
    flags = choose_flags(path, 6, share=0.05)
    old, mtime = path.read_bytes(), path.stat().st_mtime_ns
    limited = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))\n"
    )
    proc = child(limited + REWRITE, str(path), str(write_flags(tmp_path / "flags.json", flags)))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and b"File too large" in err
    assert path.read_bytes() == old and path.stat().st_mtime_ns == mtime
    assert scratch(data) == []


def test_a_file_written_to_during_the_rewrite_keeps_what_its_writer_wrote(tmp_path: Path):
    """A collector appends a page while the rewrite streams: the rewrite is dropped, not the page."""
    data = tmp_path / "data"
    data.mkdir()
    path = write_pages(data / "growing.jsonl", 20_000)
    flags = choose_flags(path, 8, share=0.05)
    verdicts = Verdicts(posts=results(flags.posts), users=results(flags.users))
    manifest = current_manifest(path)
    appended = json.dumps(page(FIRST_POST + 10**6, 5)).encode() + b"\n"
    old = path.read_bytes()

    def append_when_staged() -> None:
        while not scratch(data):
            time.sleep(0.001)
        with path.open("ab") as out:
            out.write(appended)

    writer = threading.Thread(target=append_when_staged)
    writer.start()
    with pytest.raises(DataFileChangedError, match="changed while it was being rewritten"):
        rewrite_file(path, verdicts, manifest=manifest)
    writer.join()
    assert path.read_bytes() == old + appended
    assert scratch(data) == []
    assert len(rewrite_file(path, verdicts))  # the next run reads the grown file and applies
