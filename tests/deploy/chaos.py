"""What the chaos tests need besides Airflow: an emulator they can kill and start again on the
same port and data folder, and a way to find the processes to kill."""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from x_compliance_demo.services import stop_group
from x_compliance_demo.stack import emulator_command, free_port, wait_for
from x_compliance_emulator import EmulatorAdmin


class RestartableEmulator:
    """The emulator CLI; ``kill()`` is a SIGKILL, ``start()`` comes back with the same jobs."""

    def __init__(self, data_dir: Path, log: Path, seed: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_urlsafe(24)
        self.command = emulator_command(
            port=self.port, data_dir=data_dir, seed=seed, admin_token=self.admin_token
        )
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        health = f"{self.url}/_emulator/health"
        auth = {"Authorization": f"Bearer {self.admin_token}"}
        wait_for(health, timeout=30, what="the emulator", process=self.proc, headers=auth)

    def admin(self) -> EmulatorAdmin:
        return EmulatorAdmin(self.url, self.admin_token)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.1)
    return value


def processes(match: Callable[[str], bool]) -> list[psutil.Process]:
    """Live processes whose command line (as set by setproctitle, too) matches."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["status"] != psutil.STATUS_ZOMBIE and match(cmdline):
            found.append(proc)
    return found


def task_runner(ti_id: str) -> psutil.Process | None:
    """The task runner of one task instance: Airflow titles it ``airflow worker -- <ti id>``."""
    found = processes(lambda cmdline: cmdline.startswith(f"airflow worker -- {ti_id}"))
    return found[0] if found else None


def sigkill(proc: psutil.Process) -> None:
    """SIGKILL, then wait until the process is gone or a zombie (a parent that never reaps it,
    like ``airflow standalone`` for its parts, leaves it so)."""
    proc.send_signal(signal.SIGKILL)
    wait_until(lambda: not _alive(proc), timeout=30, what=f"process {proc.pid} to die")


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
