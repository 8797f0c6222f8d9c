"""A small client of Airflow's REST API (v2) for the demos and the deployment tests: log in,
wait for a DAG, trigger a run, wait for it to finish, read its task instances."""

from __future__ import annotations

import time
from typing import Any

import requests

TERMINAL = {"success", "failed"}


class AirflowApi:
    def __init__(self, url: str, username: str = "admin", password: str = "admin") -> None:
        self.url = url
        token = requests.post(
            f"{url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(method, f"{self.url}/api/v2{path}", headers=self.headers, timeout=30, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        response = self.call(method, path, **kw)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Until the dag-processor has parsed ``dag_id``; then unpause it."""
        deadline = time.monotonic() + timeout
        while self.call("GET", f"/dags/{dag_id}").status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dag-processor never parsed {dag_id}")
            time.sleep(1)
        self.ok("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def wait_for_scheduled_run(self, dag_id: str, timeout: float = 300) -> dict:
        """The run the scheduler makes when a DAG is unpaused (``catchup=False``: the latest
        interval), once it has ended: a test that compares the warehouse before and after its
        own run must start after this one."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.ok("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]
            scheduled = [run for run in runs if run["run_type"] == "scheduled"]
            if scheduled and all(run["state"] in TERMINAL for run in scheduled):
                return scheduled[-1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"the scheduled run of {dag_id} did not end within {timeout:.0f}s")
            time.sleep(1)

    def trigger(self, dag_id: str, logical_date: str, **conf: Any) -> str:
        body = {"logical_date": logical_date, "conf": conf}
        for _ in range(30):  # a SQLite metadata database answers 503 while the scheduler writes
            response = self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)
            if response.status_code != 503:
                break
            time.sleep(1)
        if response.status_code != 200:
            raise RuntimeError(f"trigger {dag_id}: {response.status_code} {response.text[:500]}")
        return response.json()["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.ok("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(1)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.ok("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
