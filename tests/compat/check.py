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

from x_compliance.compat import AIRFLOW_V_3_1_PLUS, missing_features
from x_compliance_demo import warehouse
from x_compliance_demo.stack import EMULATOR_TOKEN, airflow_env, emulator_process

DAGS = ("x_compliance_tweets", "x_compliance_users")
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


def run_dag(dag_id: str, env: dict[str, str], log: Path) -> list[str]:
    with log.open("wb") as out:
        done = subprocess.run(
            ["airflow", "dags", "test", dag_id, LOGICAL_DATE], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    finished = [line for line in log.read_text(errors="replace").splitlines() if "DagRun Finished" in line]
    if done.returncode == 0 and finished and "state=success" in finished[-1]:
        return []
    last = finished[-1] if finished else "no DagRun Finished line"
    return [f"{dag_id}: exit {done.returncode}, {last} (log: {log})"]


def audited(db: Path) -> dict[str, int]:
    """Audited changes per table; none when no run got as far as applying its results."""
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT table_name, COUNT(*) FROM compliance_audit GROUP BY table_name")
        except sqlite3.OperationalError:
            return {}
        return dict(rows.fetchall())


def token_leaks(work: Path) -> list[str]:
    """Every file Airflow wrote (the DAG runs' output, task logs) is searched for the token.

    Airflow 3.0's ``dags test`` prints, at debug, the message by which a task asks its
    supervisor to mask a secret, the secret in it: those lines are Airflow's, not the provider's.
    """
    airflow_files = [*work.glob("*.log"), *(work / "airflow" / "logs").rglob("*")]
    leaks = []
    for path in airflow_files:
        if not path.is_file() or path.name == "emulator.log":
            continue
        lines = path.read_text(errors="replace").splitlines()
        if any(EMULATOR_TOKEN in line and "msg=MaskSecret(" not in line for line in lines):
            leaks.append(f"bearer token in {path}")
    return leaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("work", type=Path, help="an empty folder for this version's files")
    work = parser.parse_args().work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    db = warehouse.seed(work / "warehouse.db", tweets=4000, users=400, days=4, end=WAREHOUSE_END, seed=11)
    problems: list[str] = []
    with emulator_process(data_dir=work / "emulator", log=work / "emulator.log") as emulator:
        env = airflow_env(
            airflow_home=work / "airflow", emulator_url=emulator.url, warehouse=db, storage=work / "storage",
            poll_seconds=0.2,
        )  # fmt: skip
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        # What a dag-processor does first: parse the DAGs into the database, their assets with them.
        subprocess.run(["airflow", "dags", "reserialize"], env=env, check=True, capture_output=True)
        problems += check_plugin(env)
        for dag_id in DAGS:
            problems += run_dag(dag_id, env, work / f"{dag_id}.log")
    counts = audited(db)
    print(f"audited changes: {counts}")
    problems += [f"no audited change in {table}" for table in ("tweets", "users") if not counts.get(table)]
    problems += token_leaks(work)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
