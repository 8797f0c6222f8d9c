"""Helpers of the twarc2 tests: the recorded samples, verdicts chosen from a file's own IDs,
and X's results for them as the warehouse apply reads them."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.lake.truth import Flags

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "twarc2"
POST_REASONS = ["deleted", "deactivated", "protected", "suspended", "bounced", "scrub_geo", "a_new_reason"]
USER_REASONS = ["deleted", "deactivated", "protected", "suspended", "scrub_geo", "a_new_reason"]


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A writable copy of the recorded samples."""
    return Path(shutil.copytree(SAMPLES, tmp_path / "twarc2"))


def records_in(path: Path) -> tuple[dict[str, bool], set[str]]:
    """Every Post in the file (id: whether one of its copies has geo) and every user id."""
    posts: dict[str, bool] = {}
    users: set[str] = set()
    with path.open("rb") as fh:
        for line in fh:
            for x in objects(json.loads(line)):
                if "id" in x and "text" in x:
                    posts[x["id"]] = posts.get(x["id"], False) or "geo" in x
                elif "id" in x and "username" in x:
                    users.add(x["id"])
    return posts, users


def objects(x: object) -> Iterator[dict]:
    """Every JSON object in ``x``, nested ones included."""
    if isinstance(x, dict):
        yield x
        for v in x.values():
            yield from objects(v)
    elif isinstance(x, list):
        for v in x:
            yield from objects(v)


def choose_flags(path: Path, seed: int, *, share: float = 0.3) -> Flags:
    """About ``share`` of the file's Posts and users flagged, every reason used, and every Post
    with geo flagged ``scrub_geo`` or not at all."""
    rng = random.Random(seed)
    posts, users = records_in(path)
    flags = Flags()
    for pid, has_geo in sorted(posts.items()):
        if rng.random() < share:
            flags.posts[pid] = "scrub_geo" if has_geo and rng.random() < 0.6 else rng.choice(POST_REASONS)
    for uid in sorted(users):
        if rng.random() < share / 3:
            flags.users[uid] = rng.choice(USER_REASONS)
    if not flags.posts:  # a small sample: one Post at least, with geo if one has it
        pid = max(sorted(posts), key=lambda p: (posts[p], rng.random()))
        flags.posts[pid] = "scrub_geo" if posts[pid] else rng.choice(POST_REASONS)
    return flags


def results(flagged: dict[str, str]) -> pd.DataFrame:
    """X's results for ``flagged``: ``id`` and ``reason``, as the warehouse apply reads them."""
    return pd.DataFrame({"id": list(flagged), "reason": list(flagged.values())})


def any_grown_to(scratch_files: Iterable[Path], size: int) -> bool:
    """Whether a rewrite's scratch file holds ``size`` bytes yet; one swapped into place since it
    was listed (gone) counts as none."""
    for path in scratch_files:
        try:
            if path.stat().st_size >= size:
                return True
        except FileNotFoundError:
            continue
    return False


def child(code: str, *args: str) -> subprocess.Popen:
    """A Python process running ``code`` with this tree on its path (``sys.argv[1:]``: ``args``)."""
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join([str(root / "plugins"), str(root / "include"), str(root)])
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


# A child rewriting sys.argv[1] with the flags of sys.argv[2] (a JSON file of posts and users).
REWRITE = """
import json, sys
import pandas as pd
from x_compliance.lake.rewrite import rewrite_file
from x_compliance.lake.verdicts import Verdicts
flags = json.load(open(sys.argv[2]))
frames = {k: pd.DataFrame({"id": list(v), "reason": list(v.values())}) for k, v in flags.items()}
audit = rewrite_file(sys.argv[1], Verdicts(**frames))
print(len(audit))
"""


def write_flags(path: Path, flags: Flags) -> Path:
    path.write_text(json.dumps({"posts": flags.posts, "users": flags.users}))
    return path
