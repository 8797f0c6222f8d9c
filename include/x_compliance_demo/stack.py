"""Start the pieces the demo needs, as separate processes, and stop them cleanly.

The emulator runs through its own CLI and Airflow through its own ``airflow`` command, as a
user would run them; both are stopped when the ``with`` block ends, whatever happened in it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from x_compliance_emulator import EmulatorAdmin

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EMULATOR_TOKEN = "emulator-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    url: str,
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{what} did not answer at {url} within {timeout:.0f}s")


def airflow_env(
    *, airflow_home: Path, emulator_url: str, warehouse: Path, storage: Path, poll_seconds: float = 1
) -> dict[str, str]:
    """The environment both DAGs read: connections, storage root, and a quiet local Airflow."""
    # Inherit nothing Airflow-specific from the caller (a test session's unit-test mode, say).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW_CONN_X_COMPLIANCE_DEFAULT": json.dumps(
                {"conn_type": "x_compliance", "host": emulator_url, "password": EMULATOR_TOKEN}
            ),
            "AIRFLOW_CONN_WAREHOUSE_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
            "X_COMPLIANCE_STORAGE_ROOT": storage.resolve().as_uri(),
            "X_COMPLIANCE_POLL_SECONDS": str(poll_seconds),
        }
    )
    return env


@dataclass(frozen=True)
class RunningEmulator:
    """A started emulator: its base URL and the admin token its admin API wants."""

    url: str
    admin_token: str = field(repr=False)

    def admin(self) -> EmulatorAdmin:
        return EmulatorAdmin(self.url, self.admin_token)


def emulator_command(*, port: int, data_dir: Path, seed: int, admin_token: str) -> list[str]:
    """The emulator CLI as the demos run it; the same port and data folder give the same jobs."""
    return [
        str(BIN / "x-compliance-emulator"),
        "--port", str(port),
        "--token", EMULATOR_TOKEN,
        "--seed", str(seed),
        "--data-dir", str(data_dir),
        "--processing-base", "2",
        f"--admin-token={admin_token}",  # a token_urlsafe may start with "-"
    ]  # fmt: skip


@contextmanager
def emulator_process(
    *, data_dir: Path, port: int | None = None, seed: int = 42, log: Path
) -> Iterator[RunningEmulator]:
    """The emulator CLI on 127.0.0.1, with a fresh admin token; yields where it runs."""
    port = port or free_port()
    admin_token = secrets.token_urlsafe(24)
    data_dir.mkdir(parents=True, exist_ok=True)
    command = emulator_command(port=port, data_dir=data_dir, seed=seed, admin_token=admin_token)
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_default_signals)
    url = f"http://127.0.0.1:{port}"
    try:
        auth = {"Authorization": f"Bearer {admin_token}"}
        wait_for(f"{url}/_emulator/health", timeout=30, what="the emulator", process=process, headers=auth)
        yield RunningEmulator(url, admin_token)
    finally:
        _stop(process, signal.SIGTERM)


def standalone_env(env: dict[str, str], *, port: int) -> dict[str, str]:
    """What every part of a local Airflow on ``port`` must share (an extra triggerer, say)."""
    return {
        **env,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
        # The log servers too, or two instances on one machine fight over 8793 and 8794.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        # One signing key for every component, or tasks' execution-API tokens are refused.
        "AIRFLOW__API_AUTH__JWT_SECRET": env.get("AIRFLOW__API_AUTH__JWT_SECRET") or secrets.token_hex(64),
    }


@contextmanager
def airflow_standalone(env: dict[str, str], *, port: int = 8080, log: Path) -> Iterator[str]:
    """``airflow standalone`` (scheduler, dag-processor, triggerer, API server); yields the UI URL.

    Stopped with SIGINT, the signal it handles by stopping all of its parts (SIGTERM would
    leave them running).
    """
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": "admin"}))
    env = standalone_env(env, port=port)
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["airflow", "standalone"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_signals,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/api/v2/monitor/health", timeout=180, what="airflow standalone", process=process)
        yield url
    finally:
        _stop(process, signal.SIGINT, grace=30)


def _default_signals() -> None:
    """In the child: take SIGINT and SIGTERM as usual, even when our caller ignored them (a
    shell's ``cmd &`` does), so the signals that stop it reach it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop(process: subprocess.Popen, sig: int, grace: float = 10) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait()
