"""A dataset of twarc2 files for the files DAG, and what it must hold after the DAG checked every
record, from the emulator's fates and the truth (:mod:`tests.lake.truth`) alone; the
environment and the daily runs every format's DAG test shares."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.conftest import TOKEN
from tests.dags.conftest import load_dag
from tests.lake.conftest import SAMPLES, objects
from tests.lake.generate import page, write_flat, write_pages
from tests.lake.truth import Flags, expected_lines

OLD_MTIME = 1_600_000_000_000_000_000
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
RECHECK_DAYS = 3
FIRST_DAY = date(2026, 11, 19)
DAYS = [FIRST_DAY + timedelta(days=k) for k in range(RECHECK_DAYS + 1)]  # R runs after the late file


def dag_env(emulator, monkeypatch, root: str, storage: str) -> None:
    """The files DAG against the emulator (fast jobs, every reason three times as often) over
    the dataset at ``root``, its job files under ``storage``."""
    config = emulator.emulator.config
    config.processing_seconds_base = 0.5
    config.rate_limit_window_seconds = 30
    config.tweet_rates = {reason: rate * 3 for reason, rate in config.tweet_rates.items()}
    config.user_rates = {reason: rate * 3 for reason, rate in config.user_rates.items()}
    monkeypatch.setenv(
        "AIRFLOW_CONN_X_COMPLIANCE_DEFAULT",
        json.dumps({"conn_type": "x_compliance", "host": emulator.url, "password": TOKEN}),
    )
    monkeypatch.setenv("X_COMPLIANCE_FILES_ROOT", root)
    monkeypatch.setenv("X_COMPLIANCE_STORAGE_ROOT", storage)
    monkeypatch.setenv("X_COMPLIANCE_POLL_SECONDS", "0.1")
    monkeypatch.setenv("X_COMPLIANCE_RETRY_DELAY_SECONDS", "1")
    monkeypatch.setenv("X_COMPLIANCE_RECHECK_DAYS", str(RECHECK_DAYS))


def run_day(day: date, **conf):
    """The files DAG's run for ``day`` (``conf``: its params), which must succeed."""
    dag = load_dag("x_compliance_files")
    run = dag.test(logical_date=datetime(day.year, day.month, day.day, tzinfo=UTC), run_conf=conf or None)
    assert run.state == "success", f"the run for {day} ended {run.state}"
    return run


def sent(storage: Path, day: date, job_type: str) -> set[str]:
    found = storage.glob(f"files/{day.isoformat()}/*/{job_type}/part-*/ids.txt")
    return {line for path in found for line in path.read_text().split()}


def checked_on(ids: set[str], day: date) -> set[str]:
    """The rule the README states: created on ``day``, or in its rotation slot."""
    low, high = first_id_of(day), first_id_of(day + timedelta(days=1))
    slot = (day - date(1970, 1, 1)).days % RECHECK_DAYS
    return {i for i in ids if low <= int(i) < high or (int(i) % 1_000_003) % RECHECK_DAYS == slot}


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
