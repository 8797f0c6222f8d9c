"""What every DAG run of the compat check shares: ``airflow dags test`` judged by its own last
line, and the search of what Airflow wrote for secrets."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from x_compliance_demo.stack import EMULATOR_TOKEN

# Airflow 3.0's ``dags test`` prints, at debug, the message by which a task asks its supervisor
# to mask a secret, the secret in it: those lines are Airflow's, not the provider's.
AIRFLOW_MASK_REQUEST = "msg=MaskSecret("
SIGNED_URL_PIECES = ("X-Goog-Signature", "X-Goog-Credential", "upload_id=")


def secrets_of(emulator_url: str) -> dict[str, str]:
    """What must never be in a log of a run against this emulator, by name: the bearer token,
    and any piece of a signed storage URL."""
    return {
        "the bearer token": EMULATOR_TOKEN,
        "a storage URL": f"{emulator_url}/storage",
        **{piece: piece for piece in SIGNED_URL_PIECES},
    }


def dags_test(dag_id: str, env: dict[str, str], log: Path, *args: str) -> list[str]:
    """``airflow dags test DAG_ID ARGS``, its output in ``log``; a problem unless the run succeeded."""
    with log.open("wb") as out:
        done = subprocess.run(
            ["airflow", "dags", "test", dag_id, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    finished = [line for line in log.read_text(errors="replace").splitlines() if "DagRun Finished" in line]
    if done.returncode == 0 and finished and "state=success" in finished[-1]:
        return []
    last = finished[-1] if finished else "no DagRun Finished line"
    return [f"{dag_id}: exit {done.returncode}, {last} (log: {log})"]


def secret_leaks(files: Iterable[Path], secrets: dict[str, str]) -> list[str]:
    """Each secret (by name: never its value) found in a file, on any line but Airflow's own mask
    request."""
    leaks = []
    for path in files:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if AIRFLOW_MASK_REQUEST in line:
                continue
            leaks += [f"{name} in {path}" for name, value in secrets.items() if value in line]
    return sorted(set(leaks))
