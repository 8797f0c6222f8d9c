"""The tweets DAG itself on the N-row day (``airflow dags test``), beside a no-op DAG of its shape.

Both run in a fresh Airflow home with the emulator and a private copy of the warehouse; the
no-op DAG (bench/shape/) costs what Airflow itself costs for such a run (parsing, six tasks,
one deferral), so "the limits plus that" is the fastest the real DAG could be, and its peak RSS
is Airflow's own, which the real DAG's is set against.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import BENCH, OUT, redact

REPO = BENCH.parent
AIRFLOW = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "airflow"


def _airflow(env: dict[str, str], *args: str) -> tuple[float, float]:
    """Run ``airflow args...``; its seconds and peak RSS (MB)."""
    peak = Path(env["AIRFLOW_HOME"]) / "peak-rss-mb"
    command = [sys.executable, str(BENCH / "peak.py"), str(peak), str(AIRFLOW), *args]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if args[:2] == ("dags", "test"):  # kept to read each task's time: bench/out/dags-test-<dag>.log
        (OUT / f"dags-test-{args[2]}.log").write_text(redact(done.stdout + done.stderr))
    if done.returncode != 0:
        raise RuntimeError(
            f"airflow {' '.join(args)} failed:\n{redact(done.stdout[-3000:] + done.stderr[-3000:])}"
        )
    return seconds, float(peak.read_text())


def dag_run(
    work: Path,
    env: dict[str, str],
    wh: Any,
    emu: Any,
    day: str,
    ids: int,
    *,
    jobs: int = 1,
    database: str | None = None,
    recheck_days: int | None = None,
) -> dict:
    """Seconds for the tweets DAG's run of ``day`` and for the no-op. The run must have sent X
    all ``ids`` in ``jobs`` completed jobs: one job unless told (the day in one job, as the
    stages ran it), else X_COMPLIANCE_MAX_IDS_PER_JOB's default split. ``database``: the copy of
    the warehouse it runs on (default: a fresh copy)."""
    home = work / "airflow-dag"
    home.mkdir()
    env = {
        **env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT": wh.connection(database or wh.copy("dag-run")),
        "X_COMPLIANCE_STORAGE_ROOT": (work / "dag-storage").as_uri(),
    }
    if jobs == 1:
        env["X_COMPLIANCE_MAX_IDS_PER_JOB"] = str(max(ids, 1))
    if recheck_days is not None:
        env["X_COMPLIANCE_RECHECK_DAYS"] = str(recheck_days)
    _airflow(env, "db", "migrate")
    real = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags")}
    before = {job["id"] for job in _jobs(emu)}
    with FolderPeak(work / "dag-storage") as scratch:
        seconds, rss = _airflow(real, "dags", "test", "x_compliance_tweets", "-c", json.dumps({"date": day}))
    sent = [job for job in _jobs(emu) if job["id"] not in before]
    done = [job for job in sent if job["status"] == "complete"]
    if len(done) != len(sent) or len(sent) != jobs or sum(job["ids_uploaded"] for job in sent) != ids:
        raise RuntimeError(f"the DAG run did not send its {ids} IDs in {jobs} completed job(s): {sent}")
    shape = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(BENCH / "shape")}
    noop, noop_rss = _airflow(shape, "dags", "test", "x_compliance_shape", "-c", json.dumps({"jobs": jobs}))
    return {
        "dag_seconds": round(seconds, 2),
        "noop_dag_seconds": round(noop, 2),
        "dag_peak_rss_mb": rss,
        "noop_dag_peak_rss_mb": noop_rss,
        "scratch_peak_mb": round(scratch.peak / 2**20, 1),
    }


class FolderPeak:
    """The most bytes a folder held while the block ran, sampled every half second (the DAG's
    scratch files: ID files and results, which the target bounds to one job's)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.peak = folder, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> FolderPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            try:
                held = sum(_size(f) for f in self.folder.rglob("*"))
            except OSError:  # a folder removed while it was walked: the next sample counts
                held = 0
            self.peak = max(self.peak, held)
            if self._stop.wait(0.5):
                return


def _size(path: Path) -> int:
    try:
        stat = path.stat()
    except OSError:  # removed while the folder was walked
        return 0
    return stat.st_size if path.is_file() else 0


def _jobs(emu: Any) -> list[dict]:
    listed = emu.admin("jobs")
    return listed["jobs"] if isinstance(listed, dict) else listed


def summary(result: dict, stages: dict[str, dict]) -> dict:
    """The DAG's time against the limits' sum (this run's) plus the no-op DAG's."""
    limits = {name: (stage.get("limit") or {}).get("seconds") for name, stage in stages.items()}
    limit_sum = sum(seconds for name, seconds in limits.items() if seconds and "resumable" not in name)
    floor = limit_sum + result["noop_dag_seconds"]
    rss_over = result["dag_peak_rss_mb"] - result["noop_dag_peak_rss_mb"]
    return {**result, "limits_sum_s": round(limit_sum, 2), "floor_s": round(floor, 2),
            "dag_over_floor": round(result["dag_seconds"] / floor, 2),
            "rss_over_noop_mb": round(rss_over, 1)}  # fmt: skip
