"""Provider test fixtures: an Airflow connection pointing at the emulator, and a hook on it."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from tests.conftest import TOKEN
from x_compliance.hooks.jobs import ComplianceJob, JobStatus
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance_emulator.world.fates import COMPLIANT, REASONS


def connection_uri(url: str, token: str = TOKEN) -> str:
    return json.dumps({"conn_type": "x_compliance", "host": url, "password": token})


@pytest.fixture
def hook(emulator, monkeypatch) -> XComplianceHook:
    monkeypatch.setenv("AIRFLOW_CONN_X_COMPLIANCE_DEFAULT", connection_uri(emulator.url))
    return XComplianceHook(max_attempts=4, max_rate_limit_wait=5.0, timeout=10.0)


@pytest.fixture
def id_file(tmp_path):
    """A file of snowflake-looking tweet IDs, one per line."""

    def make(count: int = 2000, start: int = 1_170_025_343_920_402_432, name: str = "ids.txt"):
        path = tmp_path / name
        with path.open("wb") as fh:
            for i in range(count):
                fh.write(b"%d\n" % (start + i * 4_194_304 * 7))
        return path

    return make


def wait_for_status(
    hook: XComplianceHook, emulator, job_id: str, status: JobStatus, timeout=30.0
) -> ComplianceJob:
    """Advance the emulator's clock past processing time and poll until ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        job = hook.get_job(job_id)
        if job.status is status:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck in {job.status}, wanted {status}")
        emulator.emulator.clock.advance(5)
        time.sleep(0.05)


def status_count(emulator, endpoint: str, status: int) -> int:
    """How many responses of ``status`` the emulator gave on ``endpoint`` (create/get/list/...)."""
    per_status = emulator.emulator.stats["responses"].get(endpoint, {})
    return int(per_status.get(str(status), per_status.get(status, 0)))


def expected_results(emulator, job_type: str, path) -> dict[str, str]:
    """What the emulator decided for each ID in ``path``: from its fates, not from our code.

    One fate model answers for the whole file at once: asked ID by ID, it is built anew for each
    ID, which for a file of a few hundred thousand IDs costs more than the upload under test."""
    ids = path.read_text().split()
    codes = emulator.emulator.fate_model(job_type).codes(np.array([int(i) for i in ids], dtype=np.uint64))
    return {i: REASONS[code] for i, code in zip(ids, codes.tolist(), strict=True) if code != COMPLIANT}
