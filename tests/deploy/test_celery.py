"""The tweets DAG across two CeleryExecutor workers, with PostgreSQL as metadata database and
warehouse, Redis as broker and the storage root on S3 (moto), run through the REST API.

What it shows: tasks of one run land on different workers and still share their files, only
through the storage root on S3; the warehouse ends exactly as an independent computation says;
X saw one job; nothing was written outside the storage root (no local data folder, nothing left
in the workers' temporary folders).
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest

from tests.dags.expected import after_tweets_run, checked_on
from tests.deploy.conftest import parts_required
from x_compliance.operators.naming import job_name
from x_compliance.warehouse.run import SUBMIT_TASK
from x_compliance_demo.celery_stack import WAREHOUSE_TASKS, worker_scratch
from x_compliance_demo.deploy import (
    DAG_ID,
    RUN_DATE,
    STORAGE_ROOT,
    WORKERS,
    deployment,
    read_audit,
    read_table,
)
from x_compliance_demo.stack import PROJECT

pytestmark = pytest.mark.timeout(600)  # tier marks: TIER_MARKS in tests/conftest.py


def _leftovers(folder: Path) -> list[Path]:
    """What is left in a worker's temporary folder, but for multiprocessing's own ``pymp-*``."""
    return sorted(p for p in folder.rglob("*") if not p.relative_to(folder).parts[0].startswith("pymp-"))


def test_tweets_dag_on_two_celery_workers_with_postgres_and_s3(tmp_path):
    local_data = sorted((PROJECT / "data").rglob("*")) if (PROJECT / "data").exists() else []
    with ExitStack() as stack:
        with parts_required():
            dep = stack.enter_context(deployment(tmp_path))
        tweets, users = read_table(dep.postgres, "tweets"), read_table(dep.postgres, "users")
        run_id = dep.api.trigger(DAG_ID, RUN_DATE)
        run = dep.api.wait_for_run(DAG_ID, run_id, timeout=300)
        instances = dep.api.task_instances(DAG_ID, run_id)
        assert run["state"] == "success", [(ti["task_id"], ti["state"]) for ti in instances]
        admin = dep.emulator.admin()
        name = job_name(DAG_ID, SUBMIT_TASK, run_id, 0)
        jobs = [job for job in admin.jobs() if job["name"] == name]
        checked = checked_on(tweets, date.fromisoformat(RUN_DATE[:10]))
        fates = admin.fates("tweets", checked)
        after, audit, keys = (
            read_table(dep.postgres, "tweets"),
            read_audit(dep.postgres, run_id),
            dep.s3_keys(),
        )
        scratch = {name: _leftovers(worker_scratch(dep.env, name)) for name in WORKERS}

    # Tasks of one run ran on both workers, each on the queue the cluster policy chose.
    placed = {ti["task_id"]: (ti["hostname"], ti["queue"]) for ti in instances}
    warehouse_worker, x_worker = WORKERS
    for task_id, (host, queue) in placed.items():
        expected = (warehouse_worker, "warehouse") if task_id in WAREHOUSE_TASKS else (x_worker, "default")
        assert (host, queue) == expected, placed
    assert {host for host, _ in placed.values()} == set(WORKERS)

    # X saw one job for the run, for the day's Posts and its rotation share.
    assert len(jobs) == 1 and jobs[0]["status"] == "complete", jobs
    assert jobs[0]["ids_uploaded"] == len(checked) > 0

    # The warehouse ends exact, every change audited exactly once.
    expected = after_tweets_run(tweets, users, checked, lambda i: fates[str(i)])
    assert after == expected.tweets
    assert len(audit) == len(set(audit)), Counter(audit).most_common(3)
    assert set(audit) == expected.audit and expected.audit

    # Files moved only through the storage root on S3: the run's ids and results are there,
    # nothing appeared in the project's local data folder, the workers' scratch is empty.
    root_prefix = STORAGE_ROOT.split("@", 1)[1].split("/", 1)[1]
    assert all(key.startswith(f"{root_prefix}/tweets/") for key in keys), keys
    mine = [key for key in keys if key.startswith(f"{root_prefix}/tweets/2026-11-20/")]
    (run_folder,) = {key.rsplit("/", 2)[0] for key in mine}
    assert mine == [f"{run_folder}/part-0001/ids.txt", f"{run_folder}/part-0001/results.parquet"]
    now_local = sorted((PROJECT / "data").rglob("*")) if (PROJECT / "data").exists() else []
    assert now_local == local_data
    assert scratch == {name: [] for name in WORKERS}
