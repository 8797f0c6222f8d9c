"""`make demo`: seed the warehouse, start the emulator, run both warehouse DAGs, then the files
DAG on a small dataset in each format (twarc2, Parquet, Delta), and show what changed.

Everything lives under ``data/demo/`` (git-ignored): the SQLite warehouse, the datasets under
``files/``, the storage root the DAGs share files through, the emulator's files and the logs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from x_compliance_demo import lake_data, warehouse
from x_compliance_demo.stack import PROJECT, airflow_env, emulator_process

DEMO = PROJECT / "data" / "demo"
FILES = DEMO / "files"


def table_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("tweets", "users")}


def audit_summary(db: Path) -> list[tuple[str, str, str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT table_name, change, reason, COUNT(*) FROM compliance_audit "
            "GROUP BY table_name, change, reason ORDER BY table_name, change, reason"
        ).fetchall()


def files_audit_summary(root: Path) -> list[tuple[str, str, int]]:
    """The files DAG's audit under ``root``: rows per change and reason."""
    stored = sorted((root / ".x-compliance" / "audit").glob("*.parquet"))
    if not stored:
        return []
    audit = pd.concat([pd.read_parquet(path) for path in stored])
    return [(c, r, n) for (c, r), n in audit.groupby(["change", "reason"]).size().items()]


def run_dag(
    dag_id: str, logical_date: str, env: dict[str, str], log_dir: Path, conf: dict | None = None
) -> bool:
    name = "-".join([dag_id, *(str(v) for k, v in (conf or {}).items() if k == "format")])
    log = log_dir / f"{name}.log"
    command = ["airflow", "dags", "test", dag_id, logical_date, *(["-c", json.dumps(conf)] if conf else [])]
    print(f"→ {' '.join(command[:5])} {conf or ''}  (log: {log.relative_to(PROJECT)})", flush=True)
    started = time.monotonic()
    with log.open("wb") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT)
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
    roots = lake_data.build(db, FILES)
    print(f"Wrote the newest 3 days of Posts as twarc2, Parquet and Delta under {FILES.relative_to(PROJECT)}")

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
        for data, root in roots.items():  # the files DAG, once per format
            conf = {"format": data, "files_root": root.resolve().as_uri()}
            ok = run_dag("x_compliance_files", yesterday, env, log_dir, conf) and ok

    after = table_counts(db)
    print(f"\n{'table':<8}{'before':>10}{'after':>10}")
    for table in ("tweets", "users"):
        print(f"{table:<8}{before[table]:>10,}{after[table]:>10,}")
    print(f"\n{'table':<8}{'change':<17}{'reason':<13}{'rows':>7}")
    for table, change, reason, count in audit_summary(db):
        print(f"{table:<8}{change:<17}{reason:<13}{count:>7,}")
    print(f"\nEvery change above is a row of compliance_audit in {db.relative_to(PROJECT)}.")
    print(f"\n{'format':<9}{'change':<17}{'reason':<13}{'records':>8}")
    for data, root in roots.items():
        for change, reason, count in files_audit_summary(root):
            print(f"{data:<9}{change:<17}{reason:<13}{count:>8,}")
    print(f"Each format's audit is Parquet in {FILES.relative_to(PROJECT)}/<format>/.x-compliance/audit/.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
