"""The emulator under load: concurrent status calls keep the rate limit exact, and two
concurrent 1M-ID uploads of different types stay correct with flat memory."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psutil
import pytest
import requests

from tests.conftest import TOKEN
from x_compliance_emulator.world.fates import COMPLIANT

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_concurrent_status_calls_count_exactly(emulator):
    job = requests.post(
        f"{emulator.url}/2/compliance/jobs", json={"type": "tweets"}, headers=AUTH, timeout=10
    )
    job_id = job.json()["data"]["id"]

    def poll(_):
        with requests.Session() as session:
            return [
                session.get(f"{emulator.url}/2/compliance/jobs/{job_id}", headers=AUTH, timeout=30)
                for _ in range(25)
            ]

    with ThreadPoolExecutor(16) as pool:
        responses = [r for batch in pool.map(poll, range(16)) for r in batch]
    ok = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(limited) == 400
    assert len(ok) == 150  # the pro tier's window, not one more or less under contention
    assert all(r.json()["data"]["id"] == job_id for r in ok)
    assert sorted(int(r.headers["x-rate-limit-remaining"]) for r in ok) == list(range(150))


@pytest.mark.timeout(240)
def test_two_concurrent_million_id_uploads(emulator, tmp_path, monkeypatch):
    from tests.provider.conftest import connection_uri
    from x_compliance.hooks.jobs import JobStatus
    from x_compliance.hooks.x_compliance import XComplianceHook
    from x_compliance.operators.steps import upload_ids

    monkeypatch.setenv("AIRFLOW_CONN_X_COMPLIANCE_DEFAULT", connection_uri(emulator.url))
    emulator.emulator.config.processing_seconds_base = 0.0
    emulator.emulator.config.processing_seconds_per_million = 0.0
    rng = np.random.default_rng(3)
    files = {}
    for job_type, low in (("tweets", 1_100_000_000_000_000_000), ("users", 10_000)):
        ids = rng.integers(low, low * 8, size=1_000_000, dtype=np.int64)
        path = tmp_path / f"{job_type}.txt"
        np.savetxt(path, ids, fmt="%d")
        files[job_type] = (path, ids)

    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.05):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample)
    sampler.start()

    def cycle(job_type):
        hook = XComplianceHook()
        job = hook.create_job(job_type, resumable=job_type == "users")
        upload_ids(hook, job, files[job_type][0])
        return job.id

    try:
        with ThreadPoolExecutor(2) as pool:
            job_ids = dict(zip(files, pool.map(cycle, files), strict=True))
    finally:
        stop.set()
        sampler.join()
    growth_mb = (peak[0] - before) / 2**20
    assert growth_mb < 150, f"RSS grew {growth_mb:.0f} MB for 2 x 1M IDs"

    hook = XComplianceHook()
    for job_type, job_id in job_ids.items():
        for _ in range(200):
            job = hook.get_job(job_id)
            if job.status is JobStatus.COMPLETE:
                break
            emulator.emulator.clock.advance(5)
        assert job.status is JobStatus.COMPLETE
        raw = tmp_path / f"{job_type}-results.jsonl"
        hook.download_results(job, raw)
        got = {json.loads(line)["id"] for line in raw.read_text().splitlines() if line.strip()}
        ids = files[job_type][1]
        codes = emulator.emulator.fate_model(job_type).codes(ids.astype(np.uint64))
        expected = {str(i) for i in ids[codes != COMPLIANT]}
        assert got == expected
