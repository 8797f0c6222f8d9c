"""A Parquet rewrite that dies leaves each file whole-old (or, past the replace, whole-new): a
process SIGKILLed mid-write, over a dataset of several files; the next run finishes the job."""

from __future__ import annotations

import shutil
import signal
import time
from datetime import date
from pathlib import Path

import pytest

from tests.lake.conftest import any_grown_to, child, results, write_flags
from tests.lake.parquet_posts import assert_same, choose_post_flags, expected, posts_of_day, read, write_day
from x_compliance.lake.parquet_dataset import apply_to_parquet_dataset
from x_compliance.lake.rewrite import TEMP_SUFFIX
from x_compliance.lake.verdicts import Verdicts

pytestmark = pytest.mark.slow  # child processes and files of tens of MB

# A child applying the flags of sys.argv[2] (a JSON file of posts and users) to the dataset sys.argv[1].
APPLY = """
import json, sys
import pandas as pd
from x_compliance.lake.parquet_dataset import apply_to_parquet_dataset
from x_compliance.lake.verdicts import Verdicts
flags = json.load(open(sys.argv[2]))
frames = {k: pd.DataFrame({"id": list(v), "reason": list(v.values())}) for k, v in flags.items()}
print(len(apply_to_parquet_dataset(sys.argv[1], Verdicts(**frames))))
"""


def scratch(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def test_a_sigkill_mid_rewrite_leaves_every_file_whole(tmp_path: Path):
    root = tmp_path / "posts"
    frames = {}
    for k in range(3):
        day = date(2026, 11, 10 + k)
        frame = posts_of_day(day, 60_000, k)
        frames[write_day(root, day, frame, row_group=2_000)] = frame
    flags = choose_post_flags(list(frames.values()), seed=3, share=0.01)
    flags_file = write_flags(tmp_path / "flags.json", flags)
    old = {path: path.read_bytes() for path in frames}
    copy = shutil.copytree(root, tmp_path / "copy")
    apply_to_parquet_dataset(copy, Verdicts(posts=results(flags.posts), users=results(flags.users)))
    new = {path: (copy / path.relative_to(root)).read_bytes() for path in frames}
    assert all(old[p] != new[p] for p in frames)
    killed_mid_write = 0
    for written in (64 << 10, 1 << 20, 2 << 20):
        proc = child(APPLY, str(root), str(flags_file))
        while proc.poll() is None and not any_grown_to(scratch(root), written):
            time.sleep(0.001)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_write += 1
        proc.wait()
        for path in frames:  # each file on its own: whole-old or whole-new
            assert path.read_bytes() in (old[path], new[path]), path
    assert killed_mid_write, "the rewrite always finished before it could be killed"
    apply_to_parquet_dataset(root, Verdicts(posts=results(flags.posts), users=results(flags.users)))
    for path, frame in frames.items():
        assert_same(read(path), expected(frame, flags))
    assert scratch(root) == []  # what the killed rewrites left is gone with the next rewrite
