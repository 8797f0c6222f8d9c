"""Memory stays flat whatever a Parquet file's size: the peak of a rewrite measured in a child
process, for a file of many row groups and for one four times its size."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.lake.conftest import child, write_flags
from tests.lake.parquet_posts import posts_of_day, write_day
from tests.lake.truth import Flags

pytestmark = pytest.mark.slow  # child processes and files of tens of MB

# The peak resident size during the rewrite alone: /proc's high-water mark, reset just before.
MEASURE = """
import json, sys
import pandas as pd
from x_compliance.lake.parquet_dataset import apply_to_parquet_file
from x_compliance.lake.verdicts import Verdicts

def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":"))

flags = json.load(open(sys.argv[2]))
frames = {k: pd.DataFrame({"id": list(v), "reason": list(v.values())}) for k, v in flags.items()}
verdicts = Verdicts(**frames)
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
audit = apply_to_parquet_file(sys.argv[1], verdicts)
print(len(audit), status("VmHWM") - before)
"""


def peak_kib(tmp_path: Path, posts: int) -> tuple[int, int]:
    """(audit rows, peak growth in KiB) of rewriting a file of ``posts`` Posts, 5,000 a row group."""
    day = date(2026, 11, 20)
    frame = posts_of_day(day, posts, 0)
    path = write_day(tmp_path / str(posts), day, frame, row_group=5_000)
    # 300 flagged Posts spread over the file, in both: the verdicts weigh the same.
    flags = Flags(posts={str(frame["id"].iloc[200_000 * k // 300]): "deleted" for k in range(300)})
    proc = child(MEASURE, str(path), str(write_flags(tmp_path / f"{posts}.json", flags)))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    rows, growth = map(int, out.splitlines()[-1].split())  # Airflow may log above it
    return rows, growth


def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path):
    small_rows, small = peak_kib(tmp_path, 200_000)
    large_rows, large = peak_kib(tmp_path, 800_000)
    assert small_rows == large_rows == 300
    assert large < small + 16 << 10, (small, large)
    assert large < 64 << 10, large
