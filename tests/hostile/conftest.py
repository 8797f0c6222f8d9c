"""What every hostile case measures: time and peak memory (generous bounds, measured here, not
guessed), scratch files left behind, threads left running, and whether the warehouse changed."""

from __future__ import annotations

import gc
import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from tests.conftest import TOKEN
from tests.provider.conftest import scratch  # noqa: F401  (the fixture, shared)

WAREHOUSE_END = datetime(2026, 11, 21, tzinfo=UTC)
# The provider's own thread: parsing the next block of JSON results (the emulator's, in this
# process too, are named otherwise).
PROVIDER_THREAD = re.compile(r"x-compliance-json_")


@pytest.fixture(autouse=True)
def no_reader_left_to_the_collector() -> Iterator[None]:
    """Every reader a step opens is closed by the time the step returns or raises, never left
    for the garbage collector to close: its thread would then be joined wherever a collection
    happens to run, which can deadlock (inside ``threading``'s own lock when a thread starts:
    a parse hung five minutes so). With the collector off, such a reader shows as a thread
    still alive when the test ends."""
    gc.collect()
    gc.disable()
    try:
        yield
        alive = sorted(t.name for t in threading.enumerate() if PROVIDER_THREAD.match(t.name))
        assert not alive, f"threads of readers nobody closed: {alive}"
    finally:
        gc.enable()


@dataclass
class Spent:
    seconds: float = 0.0
    peak_mb: float = 0.0  # peak RSS growth over the start, sampled every 5 ms


@contextmanager
def bounded(seconds: float, mb: float) -> Iterator[Spent]:
    """Run the block, then assert it took at most ``seconds`` and grew RSS by at most ``mb``."""
    process, spent, done = psutil.Process(), Spent(), threading.Event()
    start_rss = process.memory_info().rss

    def sample() -> None:
        while not done.is_set():
            spent.peak_mb = max(spent.peak_mb, (process.memory_info().rss - start_rss) / 2**20)
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield spent
    finally:
        spent.seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    assert spent.seconds <= seconds, f"took {spent.seconds:.1f} s, allowed {seconds} s"
    assert spent.peak_mb <= mb, f"RSS grew {spent.peak_mb:.0f} MB, allowed {mb} MB"


def use_x_connection(monkeypatch, url: str, **extra) -> None:
    """Point ``x_compliance_default`` at ``url``, with the test's token and ``extra``."""
    connection = {"conn_type": "x_compliance", "host": url, "password": TOKEN, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_X_COMPLIANCE_DEFAULT", json.dumps(connection))


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Path:
    from x_compliance_demo.warehouse import seed

    path = seed(tmp_path / "warehouse.db", tweets=500, users=50, days=2, end=WAREHOUSE_END, seed=3)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    return path


def fingerprint(path: Path) -> str:
    """Every row of every table, hashed: equal before and after means nothing changed."""
    digest = hashlib.sha256()
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            digest.update(table.encode())
            for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                digest.update(repr(row).encode())
    return digest.hexdigest()
