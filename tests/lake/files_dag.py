"""A dataset of twarc2 files for the files DAG, and what it must hold after the DAG checked every
record, from the emulator's fates and the truth (:mod:`tests.lake.truth`) alone."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from tests.lake.conftest import SAMPLES, objects
from tests.lake.generate import page, write_flat, write_pages
from tests.lake.truth import Flags, expected_lines

OLD_MTIME = 1_600_000_000_000_000_000
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657


def first_id_of(day: date) -> int:
    """The first snowflake ID made on ``day`` (UTC), written out apart from the code under test."""
    ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return (ms - SNOWFLAKE_EPOCH_MS) << 22


def build_dataset(root: Path, new_day: date) -> None:
    """Pages and the same Posts flattened (duplicates across files), recorded samples, and a file
    of Posts created on ``new_day``; every file old, so a rewrite shows in its mtime."""
    (root / "2022").mkdir(parents=True)
    write_pages(root / "2022" / "pages.jsonl", 600, per_page=50)
    write_flat(root / "2022" / "flat.jsonl", 300, per_page=50)  # the first 300 Posts again
    shutil.copytree(SAMPLES, root / "samples", ignore=shutil.ignore_patterns("*.md", "streaming_*"))
    (root / "new").mkdir()
    first = first_id_of(new_day)
    write_lines(root / "new" / "day.jsonl", [page(first + 50 * k, 50) for k in range(3)])
    for path in files(root):
        os.utime(path, ns=(OLD_MTIME, OLD_MTIME))


def add_late_old_file(root: Path) -> Path:
    """Posts older than any run, in a file added after the first run."""
    path = root / "late" / "old.jsonl"
    path.parent.mkdir()
    write_lines(path, [page(1_500_000_000_000_100_000 + 40 * k, 40) for k in range(4)])
    os.utime(path, ns=(OLD_MTIME, OLD_MTIME))
    return path


def write_lines(path: Path, pages: list[dict]) -> None:
    path.write_text("".join(json.dumps(response) + "\n" for response in pages))


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.jsonl") if not any(part.startswith(".") for part in p.parts))


def records(path: Path) -> tuple[set[str], set[str]]:
    """Every Post (an object with id and text) and user (id and username, or named as an
    author or the user replied to) of a file, by plain json."""
    posts: set[str] = set()
    users: set[str] = set()
    with path.open("rb") as fh:
        for line in fh:
            for x in objects(json.loads(line)):
                if isinstance(x.get("id"), str) and "text" in x:
                    posts.add(x["id"])
                elif isinstance(x.get("id"), str) and "username" in x:
                    users.add(x["id"])
                users |= {x[k] for k in ("author_id", "in_reply_to_user_id") if isinstance(x.get(k), str)}
    return posts, users


def fates(emulator, posts: set[str], users: set[str]) -> Flags:
    model = emulator.emulator
    flags = Flags()
    flags.posts = {p: r for p in sorted(posts) if (r := model.fate("tweets", p)) is not None}
    flags.users = {u: r for u in sorted(users) if (r := model.fate("users", u)) is not None}
    return flags


def truth(originals: dict[Path, Path], emulator) -> tuple[Flags, dict[Path, list]]:
    """The flags of every record of the dataset, and per file what it must hold."""
    posts: set[str] = set()
    users: set[str] = set()
    for copy in originals.values():
        p, u = records(copy)
        posts, users = posts | p, users | u
    flags = fates(emulator, posts, users)
    return flags, {path: expected_lines(copy, flags) for path, copy in originals.items()}
