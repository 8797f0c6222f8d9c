"""The servers a production-shaped deployment needs, started as private processes on free ports:
PostgreSQL (Debian's package), Redis (Debian's ``redis-server``) and a local S3 (moto's server).

Each is a context manager that stops its process group and removes its files however the
``with`` block ends. A missing binary raises :class:`MissingPart`, naming the package to install.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from x_compliance_demo.stack import BIN, free_port, wait_for

PG_BIN = Path(os.environ.get("X_COMPLIANCE_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"  # the server refuses to run as root: initdb and pg_ctl run as this user


class MissingPart(RuntimeError):
    """A program the deployment needs is not installed."""


def require(program: str | Path, package: str) -> str:
    found = shutil.which(str(program))
    if found is None:
        raise MissingPart(f"{program} not found: install {package}")
    return found


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = PG_USER
    host: str = "127.0.0.1"

    def dsn(self, database: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"

    def sqlalchemy_url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def airflow_conn(self, database: str) -> str:
        """An ``AIRFLOW_CONN_*`` value (JSON) for a PostgresHook on ``database``."""
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": self.host,
                "port": self.port,
                "login": self.user,
                "schema": database,
            }
        )

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def postgres(*, databases: tuple[str, ...] = ()) -> Iterator[Postgres]:
    """A throwaway cluster with trust auth on 127.0.0.1 (no socket file outside its folder)."""
    initdb = require(PG_BIN / "initdb", "postgresql (Debian package)")
    pg_ctl = require(PG_BIN / "pg_ctl", "postgresql (Debian package)")
    user = PG_USER if os.geteuid() == 0 else None
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="xc-postgres-"))
    data = root / "data"
    if user is not None:
        shutil.chown(root, user)
    port = free_port()
    as_user = {"user": user} if user else {}
    try:
        subprocess.run(
            [initdb, "-D", str(data), "-U", PG_USER, "--auth=trust", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, **as_user,
        )  # fmt: skip
        options = f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"],
            check=True, capture_output=True, start_new_session=True, **as_user,
        )  # fmt: skip
        cluster = Postgres(port)
        for name in databases:
            cluster.create_database(name)
        yield cluster
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, **as_user
            )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def redis() -> Iterator[str]:
    """``redis-server`` with no persistence; yields its ``redis://`` URL."""
    server = require("redis-server", "redis-server (Debian package)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="xc-redis-") as folder:
        command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder]
        with process(command, Path(folder) / "redis.log") as proc:
            _wait_for_port(port, what="redis-server", proc=proc)
            yield f"redis://127.0.0.1:{port}/0"


S3_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": "us-east-1",
}


@contextmanager
def s3(bucket: str, *, log: Path) -> Iterator[str]:
    """moto's S3 in server mode with ``bucket`` created; yields the endpoint URL."""
    server = require(BIN / "moto_server", "moto[server] (the x-compliance dev extra)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process([server, "-H", "127.0.0.1", "-p", str(port)], log) as proc:
        wait_for(f"{url}/moto-api/", timeout=60, what="moto_server", process=proc)
        import boto3

        boto3.client("s3", endpoint_url=url, **S3_CREDENTIALS).create_bucket(Bucket=bucket)
        yield url


@contextmanager
def process(
    command: list[str], log: Path, *, env: dict[str, str] | None = None, stop_signal: int = signal.SIGTERM
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in its own process group, output to ``log``; on exit signal the group,
    then SIGKILL whatever is left of it after 20 s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield proc
    finally:
        stop_group(proc, stop_signal)


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 20) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with suppress(ProcessLookupError):  # children that outlived their parent still carry its group id
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _wait_for_port(port: int, *, what: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout:.0f}s")
