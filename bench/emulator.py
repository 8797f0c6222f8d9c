"""The emulator as a separate process: started on a free port, its CPU read from outside.

Running it apart keeps its work out of our stages' RSS and CPU, and lets us show how much CPU
it spent while each stage ran (it should never be the bottleneck).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

TOKEN = "bench-token-0123456789"
ADMIN_TOKEN = secrets.token_urlsafe(24)
_READY = re.compile(r"ready at (http://\S+)")


class Emulator:
    """``x-compliance-emulator`` in a child process; a context manager that stops it by pid."""

    def __init__(self, data_dir: Path, *flags: str) -> None:
        self.data_dir = data_dir
        self.flags = flags
        self.url = ""
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Emulator:
        cli = Path(sys.executable).with_name("x-compliance-emulator")
        command = [
            str(cli),
            "--port",
            "0",
            "--token",
            TOKEN,
            f"--admin-token={ADMIN_TOKEN}",  # a token_urlsafe may start with "-"
            "--data-dir",
            str(self.data_dir),
            *self.flags,
        ]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self._proc.stdout.readline()
        match = _READY.search(line)
        if not match:
            self._proc.kill()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.url = match.group(1)
        self._ps = psutil.Process(self._proc.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def cpu_seconds(self) -> float:
        times = self._ps.cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        return round(self._ps.memory_info().rss / 2**20, 1)

    def admin(self, path: str) -> dict:
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def wait_complete(self, job_id: str, timeout: float = 600.0) -> float:
        """Poll the job (plain HTTP, as X's API) until complete; return the seconds waited."""
        started = time.perf_counter()
        request = urllib.request.Request(
            f"{self.url}/2/compliance/jobs/{job_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = json.load(response)["data"]["status"]
            except urllib.error.HTTPError as error:
                if error.code != 429:
                    raise
                # A slow job outlasts the polls its window allows: wait for the window, as X asks.
                reset = float(error.headers.get("x-rate-limit-reset") or time.time() + 1)
                time.sleep(min(max(reset - time.time(), 0.25), 60.0))
                continue
            if status == "complete":
                return time.perf_counter() - started
            if status in ("failed", "expired"):
                raise RuntimeError(f"job {job_id} ended {status}")
            time.sleep(0.25)
        raise TimeoutError(f"job {job_id} not complete after {timeout} s")

    def connection_env(self) -> dict[str, str]:
        conn = {"conn_type": "x_compliance", "host": self.url, "password": TOKEN}
        return {"AIRFLOW_CONN_X_COMPLIANCE_DEFAULT": json.dumps(conn)}
