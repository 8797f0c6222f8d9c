"""A real scheduler runs a run's mapped submits as it likes: the status calls of a 5-job sweep of the
tweets DAG under ``airflow standalone`` (scheduler, LocalExecutor, triggerer), counted by the
emulator, grow with the jobs, not with their square.

`airflow dags test` runs one task at a time and hides what a scheduler does when every mapped
submit may start at once: each waits on the job holding X's slot, and each job's end wakes them all.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime

import pytest
import requests

from x_compliance_demo import warehouse
from x_compliance_demo.stack import airflow_env, airflow_standalone, emulator_process, free_port

pytestmark = [pytest.mark.slow, pytest.mark.standalone, pytest.mark.timeout(600)]

DAG_ID = "x_compliance_tweets"
JOBS = 5
TWEETS = 1500
# X's time on each job: long enough that the later submits find the slot held.
JOB_SECONDS = 4.0
# The status calls a job may cost at most, whatever the scheduler's order: the wait's few calls
# (at most one waiter per job), the download's read, a wait task's first look.
STATUS_CALLS_PER_JOB = 6


def _token(url: str) -> dict[str, str]:
    answer = requests.post(f"{url}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _sweep(url: str, deadline: float) -> dict:
    """Unpause the DAG, trigger one sweep of every stored Post in ``JOBS`` jobs, wait for its end."""
    auth = _token(url)
    api = f"{url}/api/v2/dags/{DAG_ID}"
    while requests.get(api, headers=auth, timeout=120).status_code != 200:
        assert time.monotonic() < deadline, "the dag-processor never parsed the DAG"
        time.sleep(2)
    requests.patch(api, headers=auth, json={"is_paused": False}, timeout=120).raise_for_status()
    conf = {"mode": "sweep", "max_ids_per_job": -(-TWEETS // JOBS)}
    body = {"logical_date": None, "conf": conf}
    made = requests.post(f"{api}/dagRuns", headers=auth, json=body, timeout=120)
    assert made.status_code == 200, made.text
    run_id = made.json()["dag_run_id"]
    state = "unknown"
    while time.monotonic() < deadline:
        time.sleep(3)
        try:  # a loaded machine (2 cores, a scheduler, 4 tasks) can keep the API server slow
            run = requests.get(f"{api}/dagRuns/{run_id}", headers=auth, timeout=120).json()
        except requests.Timeout:
            continue
        state = run["state"]
        if state in ("success", "failed"):
            return run
    raise AssertionError(f"the sweep did not end: {state}")


def test_status_calls_of_a_sweep_grow_with_its_jobs(tmp_path):
    end = datetime(2026, 11, 21, tzinfo=UTC)
    db = warehouse.seed(tmp_path / "warehouse.db", tweets=TWEETS, users=200, days=4, end=end, seed=5)
    with emulator_process(data_dir=tmp_path / "emulator", log=tmp_path / "emulator.log", seed=9) as emulator:
        emulator.admin().patch_config(processing_seconds_base=JOB_SECONDS)
        env = airflow_env(
            airflow_home=tmp_path / "airflow", emulator_url=emulator.url, warehouse=db,
            storage=tmp_path / "storage", poll_seconds=1,
        )  # fmt: skip
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        log = tmp_path / "standalone.log"
        with airflow_standalone(env, port=free_port(), log=log) as url:
            run = _sweep(url, time.monotonic() + 480)
        stats = emulator.admin().stats()
        jobs = emulator.admin().jobs()
    print(json.dumps({"requests": stats["requests"], "rate_limited": stats["rate_limited"]}))
    assert run["state"] == "success", f"see {log}"
    assert len(jobs) == JOBS and {j["status"] for j in jobs} == {"complete"}, jobs
    assert stats["rate_limited"].get("get", 0) == 0
    assert stats["requests"]["get"] <= STATUS_CALLS_PER_JOB * JOBS, stats["requests"]
