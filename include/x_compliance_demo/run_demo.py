"""`make demo`: seed the warehouse, start the emulator, run both DAGs, show what changed.

Everything lives under ``data/demo/`` (git-ignored): the SQLite warehouse, the storage root
the DAGs share files through, the emulator's files and the logs of each step.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from x_compliance_demo import warehouse
from x_compliance_demo.stack import PROJECT, airflow_env, emulator_process

DEMO = PROJECT / "data" / "demo"


def table_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("tweets", "users")}


def audit_summary(db: Path) -> list[tuple[str, str, str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT table_name, change, reason, COUNT(*) FROM compliance_audit "
            "GROUP BY table_name, change, reason ORDER BY table_name, change, reason"
        ).fetchall()


def run_dag(dag_id: str, logical_date: str, env: dict[str, str], log_dir: Path) -> bool:
    log = log_dir / f"{dag_id}.log"
    print(f"→ airflow dags test {dag_id} {logical_date}   (log: {log.relative_to(PROJECT)})", flush=True)
    started = time.monotonic()
    with log.open("wb") as out:
        done = subprocess.run(
            ["airflow", "dags", "test", dag_id, logical_date], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    finished = [line for line in log.read_text(errors="replace").splitlines() if "DagRun Finished" in line]
    ok = done.returncode == 0 and bool(finished) and "state=success" in finished[-1]
    print(f"  {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f}s", flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tweets", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=5_000)
    args = parser.parse_args()

    shutil.rmtree(DEMO, ignore_errors=True)
    log_dir = DEMO / "logs"
    log_dir.mkdir(parents=True)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    db = warehouse.seed(DEMO / "warehouse.db", tweets=args.tweets, users=args.users, days=90, end=today)
    before = table_counts(db)
    print(
        f"Seeded {db.relative_to(PROJECT)}: {before['tweets']:,} tweets (90 days), {before['users']:,} users"
    )

    with emulator_process(data_dir=DEMO / "emulator", log=log_dir / "emulator.log") as emulator:
        url = emulator.url
        print(f"Emulator at {url}")
        env = airflow_env(
            airflow_home=PROJECT / ".airflow", emulator_url=url, warehouse=db, storage=DEMO / "storage"
        )
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        # Both daily runs for yesterday: its new rows and its seventh of the rotation (every row,
        # whatever its date, comes up once in any 7 consecutive days).
        yesterday = (today - timedelta(days=1)).strftime("%Y-%m-%d")
        ok = run_dag("x_compliance_tweets", yesterday, env, log_dir)
        ok = run_dag("x_compliance_users", yesterday, env, log_dir) and ok

    after = table_counts(db)
    print(f"\n{'table':<8}{'before':>10}{'after':>10}")
    for table in ("tweets", "users"):
        print(f"{table:<8}{before[table]:>10,}{after[table]:>10,}")
    print(f"\n{'table':<8}{'change':<17}{'reason':<13}{'rows':>7}")
    for table, change, reason, count in audit_summary(db):
        print(f"{table:<8}{change:<17}{reason:<13}{count:>7,}")
    print(f"\nEvery change above is a row of compliance_audit in {db.relative_to(PROJECT)}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
