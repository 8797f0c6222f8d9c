"""The real thing: ``airflow standalone`` (scheduler, dag-processor, triggerer, API server,
LocalExecutor) with the emulator CLI, driven through the REST API.

A manual run and a two-day backfill of the tweets DAG must succeed: the trigger loads in the
real triggerer (not inline as in ``dag.test()``), tasks run in separate processes and share
data only through the storage root, and concurrent runs queue on X's one-job-per-type rule.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from datetime import UTC, datetime

import pytest
import requests

from tests.dags.conftest import read_table
from tests.dags.expected import after_tweets_run
from x_compliance_demo import warehouse
from x_compliance_demo.stack import airflow_env, airflow_standalone, emulator_process, free_port
from x_compliance_emulator import EmulatorConfig, EmulatorServer

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
    with emulator_process(data_dir=tmp_path / "emulator", log=tmp_path / "emulator.log", seed=9) as emulator:
        url = emulator.url
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
            deadline = time.monotonic() + 420
            while True:
                runs = api.runs()
                states = sorted(r["state"] for r in runs)
                # Unpausing also schedules the latest interval (2026-11-21, past the seeded data):
                # an empty partition, whose run succeeds without creating a job.
                if len(runs) >= 3 and set(states) <= {"success", "failed"}:
                    break
                assert time.monotonic() < deadline, f"runs did not finish: {states}"
                time.sleep(3)
            assert set(states) == {"success"}, f"{states}; see {log}"
            jobs = emulator.admin().jobs()
        standalone_log = log.read_text(errors="replace")

    assert "Trigger failed to load code" not in standalone_log
    intervals = sorted((r["run_type"], r["data_interval_start"], r["data_interval_end"]) for r in runs)
    # One job per non-empty run: none duplicated, the one-job rule made them queue.
    named = sorted((j["name"][-16:], j["status"]) for j in jobs)
    assert len(jobs) == 3, f"{len(jobs)} jobs {named} for runs {intervals}"
    # The emulator process is gone; its fates follow from the seed, so a fresh one answers for it.
    with EmulatorServer(EmulatorConfig(seed=9, data_dir=tmp_path / "fates")) as oracle:
        state = after_tweets_run(tweets, users, set(), lambda i: oracle.emulator.fate("tweets", i))
        for run in sorted(runs, key=lambda r: r["data_interval_start"]):
            start = datetime.fromisoformat(run["data_interval_start"].replace("Z", "+00:00"))
            stop = datetime.fromisoformat(run["data_interval_end"].replace("Z", "+00:00"))
            lo, hi = (d.strftime("%Y-%m-%dT%H:%M:%S.000Z") for d in (start, stop))
            partition = {i for i, row in tweets.items() if lo <= row[2] < hi}
            step = after_tweets_run(
                state.tweets, users, partition, lambda i: oracle.emulator.fate("tweets", i)
            )
            state.tweets, state.audit = step.tweets, state.audit | step.audit
    assert read_table(db, "tweets") == state.tweets
    with sqlite3.connect(db) as conn:
        audited = set(conn.execute("SELECT record_id, table_name, change, reason FROM compliance_audit"))
    assert audited == state.audit
