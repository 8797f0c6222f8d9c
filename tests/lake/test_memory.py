"""Memory stays flat whatever the file's size: the peak of a rewrite (manifest built, file
rewritten) measured in a child process, for a file and for one four times its size."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lake.conftest import child, write_flags
from tests.lake.generate import FIRST_POST, write_pages
from tests.lake.truth import Flags

# The peak resident size during the rewrite alone: /proc's high-water mark, reset just before.
MEASURE = """
import json, sys
import pandas as pd
from x_compliance.lake.rewrite import rewrite_file
from x_compliance.lake.verdicts import Verdicts

def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":"))

flags = json.load(open(sys.argv[2]))
frames = {k: pd.DataFrame({"id": list(v), "reason": list(v.values())}) for k, v in flags.items()}
verdicts = Verdicts(**frames)
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
audit = rewrite_file(sys.argv[1], verdicts)
print(len(audit), status("VmHWM") - before)
"""

pytestmark = pytest.mark.slow  # child processes and files of tens of MB


def peak_kib(tmp_path: Path, posts: int) -> tuple[int, int]:
    """(audit rows, peak growth in KiB) of rewriting a file of ``posts`` Posts."""
    path = write_pages(tmp_path / f"{posts}.jsonl", posts)
    # The same 300 flagged Posts in both files: the verdicts weigh the same.
    flags = Flags(posts={str(FIRST_POST + 7 + 31 * k): "deleted" for k in range(300)})
    proc = child(MEASURE, str(path), str(write_flags(tmp_path / f"{posts}.json", flags)))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    rows, growth = map(int, out.splitlines()[-1].split())  # Airflow may log above it
    return rows, growth


def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path):
    small_rows, small = peak_kib(tmp_path, 10_000)
    large_rows, large = peak_kib(tmp_path, 40_000)
    assert small_rows == large_rows >= 300  # the same Posts and their copies
    assert large < small + 16 << 10, (small, large)
    assert large < 64 << 10, large
