"""`make celery`: the tweets DAG in a production-shaped deployment, on one machine.

Airflow with the CeleryExecutor and two workers (Redis broker, PostgreSQL metadata database),
the warehouse on PostgreSQL, the storage root on S3 (moto's server, reached through an Airflow
AWS connection) and the emulator standing in for X. It seeds the warehouse, runs the DAG through
the REST API, prints where each task ran and what changed, and keeps serving until Ctrl-C
(``--once`` stops right away). The deployment test drives the very same ``deployment()``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from x_compliance_demo import warehouse
from x_compliance_demo.celery_stack import WAREHOUSE_QUEUE, X_QUEUE, celery_airflow, celery_env
from x_compliance_demo.rest import AirflowApi
from x_compliance_demo.services import S3_CREDENTIALS, Postgres, postgres, redis, require, s3
from x_compliance_demo.stack import BIN, RunningEmulator, airflow_env, emulator_process, free_port

DAG_ID = "x_compliance_tweets"
BUCKET = "x-compliance"
S3_CONN_ID = "x_compliance_s3"
STORAGE_ROOT = f"s3://{S3_CONN_ID}@{BUCKET}/x-compliance"
WORKERS = {"warehouse-worker": WAREHOUSE_QUEUE, "x-worker": X_QUEUE}
# The seeded Posts span the two days before END; the run for 2026-11-20 checks the Posts created
# that day and the day's rotation share of the rest.
END = datetime(2026, 11, 21, tzinfo=UTC)
RUN_DATE = "2026-11-20T00:00:00Z"


@dataclass
class Deployment:
    api: AirflowApi
    env: dict[str, str]
    postgres: Postgres
    s3_url: str
    emulator: RunningEmulator
    work: Path

    def s3_keys(self) -> list[str]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3_url, **S3_CREDENTIALS)
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def seed_postgres(cluster: Postgres, *, tweets: int, users: int, seed: int, days: int = 2) -> None:
    """The demo warehouse (``warehouse.seed``, deterministic), copied into PostgreSQL."""
    import psycopg

    with tempfile.TemporaryDirectory(prefix="xc-seed-") as folder:
        source = Path(folder) / "warehouse.db"
        warehouse.seed(source, tweets=tweets, users=users, days=days, end=END, seed=seed)
        with sqlite3.connect(source) as lite, psycopg.connect(cluster.dsn("warehouse")) as pg:
            for statement in filter(str.strip, warehouse.SCHEMA.split(";")):
                pg.execute(statement)
            for table in ("users", "tweets"):
                columns = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
                with pg.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in lite.execute(f"SELECT * FROM {table}"):
                        copy.write_row(row)


def read_table(cluster: Postgres, table: str) -> dict[int, tuple]:
    import psycopg

    with psycopg.connect(cluster.dsn("warehouse")) as pg:
        return {row[0]: tuple(row) for row in pg.execute(f"SELECT * FROM {table}")}


def read_audit(cluster: Postgres, run_id: str | None = None) -> list[tuple]:
    """(record_id, table, change, reason) of every audit row, or of one run's."""
    import psycopg

    sql = "SELECT record_id, table_name, change, reason FROM compliance_audit"
    with psycopg.connect(cluster.dsn("warehouse")) as pg:
        if run_id is None:
            return list(pg.execute(sql))
        return list(pg.execute(sql + " WHERE run_id = %s", (run_id,)))


@contextmanager
def deployment(work: Path, *, tweets: int = 3000, users: int = 300, seed: int = 9) -> Iterator[Deployment]:
    """Everything up, the warehouse seeded, the DAG parsed and unpaused, the run the scheduler
    makes on unpause ended; all stopped at the end."""
    airflow = require(BIN / "airflow", "apache-airflow (pip install -e '.[dev]')")
    with ExitStack() as stack:
        cluster = stack.enter_context(postgres(databases=("airflow", "warehouse")))
        broker = stack.enter_context(redis())
        s3_url = stack.enter_context(s3(BUCKET, log=work / "logs" / "moto.log"))
        emulator = stack.enter_context(
            emulator_process(data_dir=work / "emulator", log=work / "logs" / "emulator.log", seed=seed)
        )
        seed_postgres(cluster, tweets=tweets, users=users, seed=seed)
        base = airflow_env(
            airflow_home=work / "airflow", emulator_url=emulator.url, warehouse=work / "unused.db",
            storage=work / "unused", poll_seconds=1,
        )  # fmt: skip
        s3_conn = {
            "conn_type": "aws",
            "login": S3_CREDENTIALS["aws_access_key_id"],
            "password": S3_CREDENTIALS["aws_secret_access_key"],
            "extra": {"endpoint_url": s3_url, "region_name": S3_CREDENTIALS["region_name"]},
        }
        base.update(
            {
                "AIRFLOW_CONN_WAREHOUSE_DEFAULT": cluster.airflow_conn("warehouse"),
                f"AIRFLOW_CONN_{S3_CONN_ID.upper()}": json.dumps(s3_conn),
                "X_COMPLIANCE_STORAGE_ROOT": STORAGE_ROOT,
                "X_COMPLIANCE_RETRY_DELAY_SECONDS": "3",
            }
        )
        env = celery_env(base, postgres=cluster, broker=broker, api_port=free_port())
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        url = stack.enter_context(celery_airflow(env, logs=work / "logs", workers=WORKERS))
        api = AirflowApi(url)
        api.wait_for_dag(DAG_ID)
        api.wait_for_scheduled_run(DAG_ID)  # the latest interval's run, made on unpause
        yield Deployment(api, env, cluster, s3_url, emulator, work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="stop after the run instead of serving")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xc-celery-"))
    print(f"Starting PostgreSQL, Redis, S3 (moto), the emulator and Airflow (logs: {work}/logs) ...")
    started = time.monotonic()
    with deployment(work) as dep:
        print(f"Up in {time.monotonic() - started:.0f}s. Airflow: {dep.api.url} (admin / admin)")
        before = len(read_table(dep.postgres, "tweets"))
        run_id = dep.api.trigger(DAG_ID, RUN_DATE)
        run = dep.api.wait_for_run(DAG_ID, run_id)
        print(f"Run {run_id}: {run['state']}")
        for ti in dep.api.task_instances(DAG_ID, run_id):
            print(f"  {ti['task_id']:<36} {ti['state']:<8} queue={ti['queue']:<10} on {ti['hostname']}")
        print(f"Posts: {before} before, {len(read_table(dep.postgres, 'tweets'))} after")
        print("Files in S3:", *dep.s3_keys(), sep="\n  ")
        if not args.once:
            print("Serving until Ctrl-C.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                print("\nStopping ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
