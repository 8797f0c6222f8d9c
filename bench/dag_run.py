"""The tweets DAG itself on the N-row day (``airflow dags test``), beside a no-op DAG of its shape.

Both run in a fresh Airflow home with the emulator and a private copy of the warehouse; the
no-op DAG (bench/shape/) costs what Airflow itself costs for such a run (parsing, four tasks,
one deferral), so "the limits plus that" is the fastest the real DAG could be.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from common import BENCH, redact

REPO = BENCH.parent
AIRFLOW = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "airflow"


def _airflow(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"airflow {' '.join(args)} failed:\n{redact(done.stdout[-3000:] + done.stderr[-3000:])}"
        )
    return seconds


def dag_run(work: Path, env: dict[str, str], wh: Any, emu: Any, day: str, ids: int) -> dict:
    """Seconds for the tweets DAG's run of ``day`` (one job of ``ids`` IDs) and for the no-op;
    the run must have sent X all ``ids`` in one job that completed."""
    home = work / "airflow-dag"
    home.mkdir()
    env = {
        **env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT": wh.connection(wh.copy("dag-run")),
        "X_COMPLIANCE_STORAGE_ROOT": (work / "dag-storage").as_uri(),
        "X_COMPLIANCE_MAX_IDS_PER_JOB": str(max(ids, 1)),  # the day in one job, as the stages ran it
    }
    _airflow(env, "db", "migrate")
    real = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags")}
    before = {job["id"] for job in _jobs(emu)}
    seconds = _airflow(real, "dags", "test", "x_compliance_tweets", "-c", json.dumps({"date": day}))
    sent = [job for job in _jobs(emu) if job["id"] not in before]
    if [(job["ids_uploaded"], job["status"]) for job in sent] != [(ids, "complete")]:
        raise RuntimeError(f"the DAG run did not send its {ids} IDs in one completed job: {sent}")
    shape = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(BENCH / "shape")}
    noop = _airflow(shape, "dags", "test", "x_compliance_shape")
    return {"dag_seconds": round(seconds, 2), "noop_dag_seconds": round(noop, 2)}


def _jobs(emu: Any) -> list[dict]:
    listed = emu.admin("jobs")
    return listed["jobs"] if isinstance(listed, dict) else listed


def summary(result: dict, stages: dict[str, dict]) -> dict:
    """The DAG's time against the limits' sum (this run's) plus the no-op DAG's."""
    limits = {name: (stage.get("limit") or {}).get("seconds") for name, stage in stages.items()}
    limit_sum = sum(seconds for name, seconds in limits.items() if seconds and "resumable" not in name)
    floor = limit_sum + result["noop_dag_seconds"]
    return {**result, "limits_sum_s": round(limit_sum, 2), "floor_s": round(floor, 2),
            "dag_over_floor": round(result["dag_seconds"] / floor, 2)}  # fmt: skip
