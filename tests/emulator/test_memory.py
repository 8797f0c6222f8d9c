"""Uploads and processing are streamed: a 1M-ID upload does not grow the process by the file's size."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psutil

from tests.emulator.conftest import XApi, put_ids

MILLION = 1_000_000
BATCH = 10_000
LIMIT_BYTES = 50 * 1024 * 1024


def id_stream() -> Iterator[bytes]:
    """~20 MB of 19-digit IDs, generated piece by piece so the client holds none of it either."""
    for start in range(0, MILLION, BATCH):
        yield "".join(f"{1170025343920402432 + (start + i) * 7919}\n" for i in range(BATCH)).encode()


class PeakRss:
    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def test_million_id_upload_and_processing_stay_small(api: XApi, emulator) -> None:
    warm = api.create_job("users")  # warm up imports, threads and the results pipeline
    put_ids(warm["upload_url"], b"1\n2\n")
    emulator.emulator.clock.advance(60)
    api.wait_for(warm["id"], "complete")
    job = api.create_job("tweets")
    baseline = psutil.Process().memory_info().rss
    with PeakRss() as rss:
        assert put_ids(job["upload_url"], id_stream()).status_code == 200
        emulator.emulator.clock.advance(60)
        api.wait_for(job["id"], "complete", timeout=60)
    record = next(r for r in emulator.emulator.jobs() if r["id"] == job["id"])
    assert record["ids_uploaded"] == MILLION
    assert emulator.emulator.stats["bytes_uploaded"] > 19 * MILLION
    growth = rss.peak - baseline
    assert growth < LIMIT_BYTES, f"RSS grew by {growth / 2**20:.1f} MiB"
