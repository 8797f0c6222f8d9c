"""The issue's own test of a provider: a DAG written outside this project
(``user_dags/compliance_check.py``: create, upload, the deferred wait, download, each a task)
against an emulator whose faults are on, run with ``airflow dags test``.

Judged from the outside: the run succeeded; X got exactly one job; the Parquet results hold,
for each uploaded ID, exactly the reason the emulator's fate model gives it (none for a
compliant ID); every injected fault was met; no secret is in anything Airflow wrote.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from dag_runs import dags_test, secret_leaks, secrets_of

from x_compliance_demo.stack import EMULATOR_TOKEN, emulator_process

DAG_FILE = Path(__file__).parent / "user_dags" / "compliance_check.py"
DAG_ID = "user_compliance_check"
IDS = 5000
# One of each way X and its storage misbehave that a task is expected to ride out, each where it
# hurts: a create whose answer is lost (the retry must find the job, not make a second), busy
# and rate-limited status calls (the first ones that come: the upload's and the sensor's look at
# the job), an upload and a download cut mid-body.
FAULTS = [
    {"kind": "http_503", "target": "create"},
    {"kind": "drop", "target": "create"},
    {"kind": "http_429", "target": "get", "body": "code88"},
    {"kind": "http_500", "target": "upload"},
    {"kind": "drop", "target": "upload", "after_bytes": 20_000},
    {"kind": "http_503", "target": "get", "count": 2},
    {"kind": "drop", "target": "download", "after_bytes": 300},
    {"kind": "http_429", "target": "download", "body": "problem"},
    {"kind": "slow", "target": "any", "count": 3, "seconds": 0.3},
]


def write_ids(path: Path, count: int, seed: int = 24) -> list[str]:
    """``count`` distinct Post IDs, one a line, as a user's export would hold them."""
    draw = random.Random(seed)
    ids = sorted({str(draw.randrange(10**17, 2**63)) for _ in range(count)})
    path.write_text("".join(f"{i}\n" for i in ids))
    return ids


def results_by_id(path: Path) -> dict[str, str]:
    table = pq.read_table(path, columns=["id", "reason"])
    return dict(zip(table.column("id").to_pylist(), table.column("reason").to_pylist(), strict=True))


def check_user_dag(work: Path, env: dict[str, str]) -> list[str]:
    """Run the user's DAG in ``env`` (a migrated Airflow), with its own dags folder and emulator."""
    dags, plugins = work / "user_dags", work / "user_plugins"  # the project's plugins folder is not theirs
    for folder in (dags, plugins):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DAG_FILE, dags)
    ids = write_ids(work / "user_ids.txt", IDS)
    results = work / "user_results.parquet"
    conf = {"ids_path": str(work / "user_ids.txt"), "results_path": str(results)}
    log = work / f"{DAG_ID}.log"
    with emulator_process(data_dir=work / "user_emulator", log=work / "user_emulator.log") as emulator:
        admin = emulator.admin()
        for fault in FAULTS:
            admin.add_fault(**fault)
        user_env = {
            **env,
            "AIRFLOW_CONN_X_COMPLIANCE_DEFAULT": json.dumps(
                {"conn_type": "x_compliance", "host": emulator.url, "password": EMULATOR_TOKEN}
            ),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        }
        problems = dags_test(DAG_ID, user_env, log, "-c", json.dumps(conf))
        jobs = admin.jobs()
        unmet = admin.faults()
        fates = admin.fates("tweets", ids)
        secrets = secrets_of(emulator.url)
    if len(jobs) != 1 or jobs[0]["status"] != "complete":
        problems.append(f"X got {len(jobs)} jobs, not one complete: {[j['status'] for j in jobs]}")
    if unmet:
        problems.append(f"faults never met, so never ridden out: {unmet}")
    expected = {i: reason for i, reason in fates.items() if reason is not None}
    got = results_by_id(results) if results.is_file() else {}
    if got != expected:
        wrong = sorted(set(got.items()) ^ set(expected.items()))[:5]
        problems.append(f"results: {len(got)} rows, {len(expected)} expected; differing: {wrong}")
    print(f"{DAG_ID}: {len(ids)} IDs, {len(expected)} non-compliant, {len(got)} downloaded, {len(jobs)} job")
    text = log.read_text(errors="replace")
    if "Upload to job" not in text or "non-compliant IDs" not in text:
        problems.append(f"the task logs are not in {log}: the secret search would see nothing")
    task_logs = [log, *(Path(env["AIRFLOW_HOME"]) / "logs" / f"dag_id={DAG_ID}").rglob("*")]
    return problems + secret_leaks(task_logs, secrets)
