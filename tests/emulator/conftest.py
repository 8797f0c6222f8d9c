"""Helpers for the emulator tests: a small X API client over ``requests`` and job waiting.

Everything goes over real HTTP to a real emulator; the helpers only save typing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import TOKEN
from x_compliance_emulator import EmulatorConfig, EmulatorServer

JOBS = "/2/compliance/jobs"


class XApi:
    def __init__(self, server: EmulatorServer, token: str = TOKEN) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def create(self, job_type: str = "tweets", **fields: Any) -> requests.Response:
        return self.session.post(self.server.url + JOBS, json={"type": job_type, **fields})

    def create_job(self, job_type: str = "tweets", **fields: Any) -> dict[str, Any]:
        response = self.create(job_type, **fields)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def get(self, job_id: str) -> requests.Response:
        return self.session.get(f"{self.server.url}{JOBS}/{job_id}")

    def job(self, job_id: str) -> dict[str, Any]:
        return self.get(job_id).json()["data"]

    def list(self, **params: str) -> requests.Response:
        return self.session.get(self.server.url + JOBS, params=params)

    def wait_for(self, job_id: str, *statuses: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll (in real time) until the job reaches one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in statuses or time.monotonic() > deadline:
                assert job["status"] in statuses, job
                return job
            time.sleep(0.02)


def put_ids(upload_url: str, body: bytes | str | Iterator[bytes], **headers: str) -> requests.Response:
    return requests.put(upload_url, data=body, headers={"Content-Type": "text/plain", **headers})


def snowflakes(count: int, start: int = 1170025343920402432, step: int = 7_919_000_003) -> list[int]:
    """Distinct 19-digit tweet-like IDs."""
    return [start + i * step for i in range(count)]


def id_file(ids: list[int]) -> bytes:
    return "".join(f"{i}\n" for i in ids).encode()


@pytest.fixture
def api(emulator: EmulatorServer) -> XApi:
    return XApi(emulator)


@pytest.fixture
def make_server(tmp_path) -> Iterator[Any]:
    """Start extra emulators with their own config; all are stopped at the end of the test."""
    started: list[EmulatorServer] = []

    def make(**config: Any) -> EmulatorServer:
        config.setdefault("tokens", ["t1"])
        config.setdefault("data_dir", tmp_path / f"emulator-{len(started)}")
        server = EmulatorServer(EmulatorConfig(**config)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
