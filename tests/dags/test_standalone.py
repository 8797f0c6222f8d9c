"""The real thing: ``airflow standalone`` (scheduler, dag-processor, triggerer, API server,
LocalExecutor) with the emulator CLI, driven through the REST API.

A manual run for a date, one without a logical date and a two-day backfill of the tweets DAG
must succeed, each checking its date and rotation share: the trigger loads in the
real triggerer (not inline as in ``dag.test()``), tasks run in separate processes and share
data only through the storage root, and concurrent runs queue on X's one-job-per-type rule.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.dags.conftest import read_table
from tests.dags.expected import after_tweets_run, checked_on
from x_compliance_demo import warehouse
from x_compliance_demo.stack import airflow_env, airflow_standalone, emulator_process, free_port
from x_compliance_emulator import EmulatorConfig, EmulatorServer
from x_compliance_emulator.client import EmulatorAdmin

DAG_ID = "x_compliance_tweets"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        token = requests.post(
            f"{url}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def call(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{self.url}/api/v2{path}", headers=self.headers, timeout=30, **kw)

    def wait_for_dag(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.call("GET", f"/dags/{DAG_ID}").status_code != 200:
            assert time.monotonic() < deadline, "the dag-processor never parsed the DAG"
            time.sleep(2)

    def runs(self) -> list[dict]:
        return self.call("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 50}).json()["dag_runs"]


def test_manual_run_and_backfill_in_airflow_standalone(tmp_path):
    end = datetime(2026, 11, 21, tzinfo=UTC)
    db = warehouse.seed(tmp_path / "warehouse.db", tweets=3000, users=300, days=4, end=end, seed=5)
    tweets, users = read_table(db, "tweets"), read_table(db, "users")
    with emulator_process(data_dir=tmp_path / "emulator", log=tmp_path / "emulator.log", seed=9) as url:
        env = airflow_env(
            airflow_home=tmp_path / "airflow", emulator_url=url, warehouse=db, storage=tmp_path / "storage",
            poll_seconds=1,
        )  # fmt: skip
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        log = tmp_path / "standalone.log"
        with airflow_standalone(env, port=free_port(), log=log) as ui:
            api = Api(ui)
            api.wait_for_dag()
            api.call("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
            manual = api.call(
                "POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": "2026-11-20T00:00:00Z"}
            )
            assert manual.status_code == 200, manual.text
            # No logical date (the REST default in Airflow 3): it checks the day before it was triggered.
            undated = api.call("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
            assert undated.status_code == 200, undated.text
            body = {
                "dag_id": DAG_ID,
                "from_date": "2026-11-18T00:00:00Z",
                "to_date": "2026-11-19T00:00:00Z",
                "max_active_runs": 2,
            }
            for _ in range(20):  # SQLite metadata DB: "Database is locked" (503) while the scheduler writes
                backfill = api.call("POST", "/backfills", json=body)
                if backfill.status_code != 503:
                    break
                time.sleep(1)
            assert backfill.status_code == 200, backfill.text
            deadline, settled = time.monotonic() + 480, 0
            while True:
                runs = api.runs()
                states = sorted(r["state"] for r in runs)
                # Unpausing also schedules the latest date (yesterday): no new Posts, but its
                # rotation share. Done when every run has ended, twice in a row.
                settled = settled + 1 if len(runs) >= 4 and set(states) <= {"success", "failed"} else 0
                if settled == 2:
                    break
                assert time.monotonic() < deadline, f"runs did not finish: {states}"
                time.sleep(3)
            assert set(states) == {"success"}, f"{states}; see {log}"
            jobs = EmulatorAdmin(url).jobs()
        standalone_log = log.read_text(errors="replace")

    assert "Trigger failed to load code" not in standalone_log
    checked, days = set(), []
    for run in runs:
        if run["logical_date"]:
            day = datetime.fromisoformat(run["logical_date"].replace("Z", "+00:00")).date()
        else:
            day = datetime.fromisoformat(run["run_after"].replace("Z", "+00:00")).date() - timedelta(days=1)
        days.append((run["run_type"], str(day)))
        checked |= checked_on(tweets, day)
    assert {"2026-11-18", "2026-11-19", "2026-11-20"} <= {day for _, day in days}
    # One job per run (its new Posts + its rotation share): none duplicated, the one-job rule made them queue.
    named = sorted((j["name"][-16:], j["status"]) for j in jobs)
    assert len(jobs) == len(runs), f"{len(jobs)} jobs {named} for runs {days}"
    # The emulator process is gone; its fates follow from the seed, so a fresh one answers for it.
    # Runs overlap, but every fate is fixed here, so the end state depends only on what was checked.
    with EmulatorServer(EmulatorConfig(seed=9, data_dir=tmp_path / "fates")) as oracle:
        state = after_tweets_run(tweets, users, checked, lambda i: oracle.emulator.fate("tweets", i))
    assert read_table(db, "tweets") == state.tweets
    with sqlite3.connect(db) as conn:
        audited = set(conn.execute("SELECT record_id, table_name, change, reason FROM compliance_audit"))
    assert audited == state.audit
