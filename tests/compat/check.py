"""One Airflow version end to end, run by ``tests/compat/run.py`` inside that version's venv.

The provider's plugin as Airflow lists it (and which of its parts this Airflow cannot show),
then both example DAGs with ``airflow dags test`` against the emulator CLI, checked as a user
would: each run succeeded, the warehouse was changed and every change audited, and the bearer
token appears in no log.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from dag_runs import dags_test, secret_leaks, secrets_of
from user_dag_check import check_user_dag

from x_compliance.compat import AIRFLOW_V_3_1_PLUS, missing_features
from x_compliance_demo import warehouse
from x_compliance_demo.stack import airflow_env, emulator_process

DAGS = ("x_compliance_tweets", "x_compliance_users")
DAG_TABLES = ("tweets", "users")
LOGICAL_DATE = "2026-11-19"  # the warehouse holds Posts and users created on it, and on 3 days around it
WAREHOUSE_END = datetime(2026, 11, 21, tzinfo=UTC)


def check_plugin(env: dict[str, str]) -> list[str]:
    """The plugin is listed with its page and link; its views only where Airflow has them."""
    out = subprocess.run(["airflow", "plugins", "-o", "json"], env=env, capture_output=True, text=True)
    listed = next((line for line in out.stdout.splitlines() if line.startswith("[{")), "[]")
    plugin = next((p for p in json.loads(listed) if p["name"] == "x_compliance"), None)
    if plugin is None:
        return [f"plugin x_compliance not listed by `airflow plugins` (exit {out.returncode})"]
    problems = []
    if not plugin.get("fastapi_apps") or not plugin.get("operator_extra_links"):
        problems.append(f"plugin listed without its page or extra link: {plugin}")
    if bool(plugin.get("external_views")) != AIRFLOW_V_3_1_PLUS:
        problems.append(f"external views {plugin.get('external_views')!r} on this Airflow")
    views = plugin.get("external_views") or []
    print(f"plugin: page at {plugin['fastapi_apps'][0]['url_prefix']}, {len(views)} external views")
    for feature in missing_features():
        print(f"missing here: {feature}")
    return problems


def audited(db: Path) -> dict[str, int]:
    """Audited changes per table; none when no run got as far as applying its results."""
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT table_name, COUNT(*) FROM compliance_audit GROUP BY table_name")
        except sqlite3.OperationalError:
            return {}
        return dict(rows.fetchall())


def airflow_files(work: Path) -> list[Path]:
    """What Airflow wrote for the example DAGs: their ``dags test`` output and task logs."""
    task_logs = (work / "airflow" / "logs").glob("dag_id=x_compliance_*/**/*")
    return [*work.glob("x_compliance_*.log"), *task_logs]


def run_examples(work: Path, env: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """Both example DAGs, each one daily run; then the search of their logs for ``secrets``."""
    # What a dag-processor does first: parse the DAGs into the database, their assets with them.
    subprocess.run(["airflow", "dags", "reserialize"], env=env, check=True, capture_output=True)
    problems = [p for dag_id in DAGS for p in dags_test(dag_id, env, work / f"{dag_id}.log", LOGICAL_DATE)]
    return problems + secret_leaks(airflow_files(work), secrets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("work", type=Path, help="an empty folder for this version's files")
    parser.add_argument("--no-examples", action="store_true", help="the plugin and the user's DAG only")
    args = parser.parse_args()
    work, examples = args.work.resolve(), not args.no_examples
    work.mkdir(parents=True, exist_ok=True)
    db = warehouse.seed(work / "warehouse.db", tweets=4000, users=400, days=4, end=WAREHOUSE_END, seed=11)
    problems: list[str] = []
    with emulator_process(data_dir=work / "emulator", log=work / "emulator.log") as emulator:
        env = airflow_env(
            airflow_home=work / "airflow", emulator_url=emulator.url, warehouse=db, storage=work / "storage",
            poll_seconds=0.2,
        )  # fmt: skip
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        problems += check_plugin(env)
        if examples:
            problems += run_examples(work, env, secrets_of(emulator.url))
    problems += check_user_dag(work, env)
    if examples:
        counts = audited(db)
        print(f"audited changes: {counts}")
        problems += [f"no audited change in {table}" for table in DAG_TABLES if not counts.get(table)]
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
