"""Airflow as it runs across machines: api-server, scheduler, dag-processor, triggerer and two
CeleryExecutor workers, each its own process group, on PostgreSQL and Redis.

The workers stand for two machines: each has its own name (recorded as the task instances'
hostname), its own temporary folder and its own queue. A cluster policy sends the tasks that
touch the warehouse to the ``warehouse`` queue and the ones that talk to X to ``default``, as a
deployment with a warehouse-side worker pool would; the DAG files are not changed for it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from x_compliance_demo.services import Postgres, process, require
from x_compliance_demo.stack import BIN, free_port, wait_for

WAREHOUSE_QUEUE, X_QUEUE = "warehouse", "default"
WAREHOUSE_TASKS = frozenset({"export_ids", "apply_to_warehouse"})
WORKER_NAME_ENV = "X_COMPLIANCE_WORKER_NAME"
LOCAL_SETTINGS = "from x_compliance_demo.celery_stack import task_policy  # noqa: F401\n"


def task_policy(task) -> None:
    """Cluster policy (``airflow_local_settings.task_policy``): warehouse tasks to their queue."""
    if task.task_id in WAREHOUSE_TASKS:
        task.queue = WAREHOUSE_QUEUE


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the workers: the name the deployment gave this worker."""
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()


def celery_env(base: dict[str, str], *, postgres: Postgres, broker: str, api_port: int) -> dict[str, str]:
    """``base`` (connections, storage root) plus what makes it a Celery deployment."""
    api = f"http://127.0.0.1:{api_port}"
    return {
        **base,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.sqlalchemy_url("airflow"),
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + postgres.sqlalchemy_url("airflow"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "x_compliance_demo.celery_stack.worker_hostname",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        # One signing key for every component, or tasks' execution-API tokens are refused.
        "AIRFLOW__API_AUTH__JWT_SECRET": base.get("AIRFLOW__API_AUTH__JWT_SECRET") or secrets.token_hex(64),
    }


@contextmanager
def celery_airflow(env: dict[str, str], *, logs: Path, workers: dict[str, str]) -> Iterator[str]:
    """Start every component (``workers``: worker name → queue it serves); yield the API URL.

    Expects a migrated metadata database. Everything started is stopped when the block ends.
    """
    airflow = require(BIN / "airflow", "apache-airflow (pip install -e '.[dev]')")
    home = Path(env["AIRFLOW_HOME"])
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS)
    (home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": "admin"}))
    with ExitStack() as stack:
        parts: dict[str, subprocess.Popen] = {}

        def start(name: str, command: list[str], part_env: dict[str, str]) -> None:
            parts[name] = stack.enter_context(process(command, logs / f"{name}.log", env=part_env))

        for part in ("api-server", "scheduler", "dag-processor", "triggerer"):
            start(part, [airflow, part], env)
        for name, queue in workers.items():
            scratch = worker_scratch(env, name)
            scratch.mkdir(parents=True, exist_ok=True)
            worker_env = {
                **env,
                WORKER_NAME_ENV: name,
                "TMPDIR": str(scratch),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            }
            command = [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h", "--queues", queue]
            start(f"worker-{name}", command, worker_env)
        url = env["AIRFLOW__API__BASE_URL"]
        wait_for(
            f"{url}/api/v2/monitor/health", timeout=180, what="the api-server", process=parts["api-server"]
        )
        dead = [name for name, proc in parts.items() if proc.poll() is not None]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited at start-up; see {logs}/<part>.log")
        yield url


def worker_scratch(env: dict[str, str], name: str) -> Path:
    """The temporary folder of one worker: empty again once its tasks are done."""
    return Path(env["AIRFLOW_HOME"]) / "workers" / name / "tmp"
