"""Process faults against a real scheduler (``airflow standalone``, LocalExecutor) with the
warehouse on PostgreSQL: SIGKILL of the task during upload and during apply, SIGKILL of the
triggerer (and of the emulator) during a deferred wait.

Each fault is caught deterministically: a slow-upload fault holds the upload request open, a
table lock holds the apply inside its transaction, a processing lag holds the wait deferred.
Each run must then end with one job at X, the warehouse exactly as an independent computation
says, and every change audited exactly once. One Airflow serves all cases, one partition each.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.dags.expected import after_tweets_run, checked_on
from tests.deploy.chaos import RestartableEmulator, processes, sigkill, task_runner, wait_until
from tests.deploy.conftest import parts_required
from x_compliance.operators.naming import job_name
from x_compliance.warehouse.run import DOWNLOAD_TASK, SUBMIT_TASK, WAIT_TASK
from x_compliance_demo.deploy import DAG_ID, END, read_audit, read_table, seed_postgres
from x_compliance_demo.rest import TERMINAL, AirflowApi
from x_compliance_demo.services import Postgres, postgres, process
from x_compliance_demo.stack import BIN, airflow_env, airflow_standalone, free_port, standalone_env
from x_compliance_emulator import EmulatorAdmin

pytestmark = pytest.mark.timeout(600)  # tier marks: TIER_MARKS in tests/conftest.py
SEED = 11
DAYS = 3  # seeded: Posts created on each of the DAYS days before the demo's END
SEEDED_DAYS = tuple(str((END - timedelta(days=n)).date()) for n in range(DAYS, 0, -1))
APPLY_TASK = "apply_to_warehouse"
MAPPED = (SUBMIT_TASK, WAIT_TASK, DOWNLOAD_TASK)  # one instance per X job: one here


@dataclass
class Chaos:
    api: AirflowApi
    env: dict[str, str]  # what every Airflow component of this instance runs with
    warehouse: Postgres
    emulator: RestartableEmulator
    work: Path
    stack: ExitStack

    @property
    def admin(self) -> EmulatorAdmin:
        return self.emulator.admin()

    def task(self, run_id: str, task_id: str) -> dict:
        """The task instance, or ``{}`` while it does not exist (the job's tasks are mapped: they
        appear once the task before has run)."""
        path = f"{task_id}/0" if task_id in MAPPED else task_id
        response = self.api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{path}")
        return response.json() if response.status_code == 200 else {}

    def until(self, run_id: str, condition, what: str, timeout: float = 240) -> object:
        """Wait for ``condition()`` while the run lasts; a run that ended first fails the test."""

        def check() -> object:
            if self.api.ok("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"] in TERMINAL:
                raise AssertionError(f"run {run_id} ended before {what}")
            return condition()

        return wait_until(check, timeout=timeout, what=what)


@pytest.fixture(scope="module")
def chaos(tmp_path_factory):
    work = tmp_path_factory.mktemp("chaos")
    with ExitStack() as stack:
        with parts_required():
            cluster = stack.enter_context(postgres(databases=("warehouse",)))
        seed_postgres(cluster, tweets=3000, users=300, seed=SEED, days=DAYS)
        emulator = RestartableEmulator(work / "emulator", work / "emulator.log", SEED)
        stack.callback(emulator.stop)
        emulator.start()
        env = airflow_env(
            airflow_home=work / "airflow", emulator_url=emulator.url, warehouse=work / "unused.db",
            storage=work / "storage", poll_seconds=1,
        )  # fmt: skip
        env.update(
            {
                "AIRFLOW_CONN_WAREHOUSE_DEFAULT": cluster.airflow_conn("warehouse"),
                "X_COMPLIANCE_RETRY_DELAY_SECONDS": "2",
                # A killed triggerer's triggers move to a live one after this many seconds.
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
            }
        )
        port = free_port()
        env = standalone_env(env, port=port)
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        url = stack.enter_context(airflow_standalone(env, port=port, log=work / "standalone.log"))
        api = AirflowApi(url)
        api.wait_for_dag(DAG_ID)
        api.wait_for_scheduled_run(DAG_ID)  # made on unpause; each test compares from after it
        yield Chaos(api, env, cluster, emulator, work, stack)


def run_with_fault(chaos: Chaos, day: str, fault) -> tuple[str, list[dict]]:
    """Trigger the run for ``day`` (it checks the Posts created that day and the day's rotation
    share), let ``fault(run_id)`` strike, and check what it left.

    ``day`` is one the seeded Posts were created on (SEEDED_DAYS). The run made on unpause
    checks a day of its own, yesterday, whose rotation share can be ``day``'s (one day in seven):
    a day with no Posts of its own would then find nothing left to change. A day's own Posts
    are never in that run, so they keep flagged records whenever the test runs."""
    assert day in SEEDED_DAYS, day
    tweets, users = read_table(chaos.warehouse, "tweets"), read_table(chaos.warehouse, "users")
    partition = checked_on(tweets, date.fromisoformat(day))
    fates = chaos.admin.fates("tweets", partition)
    expected = after_tweets_run(tweets, users, partition, lambda i: fates[str(i)])
    assert expected.audit, f"the run for {day} has nothing to change: the test would prove nothing"
    run_id = chaos.api.trigger(DAG_ID, f"{day}T00:00:00Z")
    fault(run_id)
    run = chaos.api.wait_for_run(DAG_ID, run_id, timeout=300)
    instances = chaos.api.task_instances(DAG_ID, run_id)
    assert run["state"] == "success", [(ti["task_id"], ti["state"], ti["try_number"]) for ti in instances]

    # One job at X for the run, whatever was retried.
    name = job_name(DAG_ID, SUBMIT_TASK, run_id, 0)
    mine = [j for j in chaos.admin.jobs() if (j["name"] or "").split("~")[0] == name]
    assert [j["status"] for j in mine] == ["complete"], mine

    # The warehouse exactly as computed from the fates alone; each change audited once.
    assert read_table(chaos.warehouse, "tweets") == expected.tweets
    audit = read_audit(chaos.warehouse, run_id)
    assert len(audit) == len(set(audit)), Counter(audit).most_common(3)
    assert set(audit) == expected.audit
    return run_id, instances


def test_sigkill_of_the_task_during_upload(chaos):
    admin = chaos.admin
    uploads = admin.stats()["requests"]["upload"]
    admin.add_fault(kind="slow", target="upload", seconds=60)  # holds the upload request open

    def kill_mid_upload(run_id: str) -> None:
        chaos.until(run_id, lambda: admin.stats()["requests"]["upload"] > uploads, "the upload")
        ti = chaos.task(run_id, SUBMIT_TASK)
        sigkill(wait_until(lambda: task_runner(ti["id"]), timeout=30, what="the upload task process"))

    _, instances = run_with_fault(chaos, "2026-11-19", kill_mid_upload)
    tries = {ti["task_id"]: ti["try_number"] for ti in instances}
    assert tries[SUBMIT_TASK] == 2, tries  # the retry reused the job and uploaded again


def test_sigkill_of_the_task_during_apply(chaos):
    before = read_table(chaos.warehouse, "tweets")
    seen: dict[str, object] = {}

    def kill_mid_apply(run_id: str) -> None:
        # SHARE mode lets the apply read and audit, and holds its DELETE: the task stops
        # inside its transaction, with audit rows written and not committed.
        with psycopg.connect(chaos.warehouse.dsn("warehouse")) as lock:
            lock.execute("LOCK TABLE tweets IN SHARE MODE")
            chaos.until(run_id, lambda: _blocked_delete(chaos.warehouse), "the apply's DELETE")
            ti = chaos.task(run_id, APPLY_TASK)
            sigkill(wait_until(lambda: task_runner(ti["id"]), timeout=30, what="the apply task process"))
            seen["audit"] = read_audit(chaos.warehouse, run_id)
            seen["tweets"] = read_table(chaos.warehouse, "tweets")
            lock.rollback()

    _, instances = run_with_fault(chaos, "2026-11-20", kill_mid_apply)
    assert seen == {"audit": [], "tweets": before}  # nothing of the killed attempt showed
    tries = {ti["task_id"]: ti["try_number"] for ti in instances}
    assert tries[APPLY_TASK] == 2, tries


def test_sigkill_of_the_triggerer_and_the_emulator_during_the_wait(chaos):
    admin = chaos.admin
    admin.patch_config(created_lag_seconds=3600)  # the job stays "created" until the clock moves
    seen: dict[str, object] = {}

    def kill_mid_wait(run_id: str) -> None:
        state = lambda: chaos.task(run_id, WAIT_TASK).get("state")  # noqa: E731
        chaos.until(run_id, lambda: state() == "deferred", "the deferred wait")
        links = chaos.api.call(
            "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{WAIT_TASK}/links", params={"map_index": 0}
        )
        seen["link"] = links.json()["extra_links"]["X compliance job"]  # while it waits, deferred
        triggerers = _triggerers(chaos.env["AIRFLOW_HOME"])
        assert triggerers
        for proc in triggerers:
            sigkill(proc)
        before = admin.jobs()
        chaos.emulator.kill()
        chaos.emulator.start()  # same port, same data folder: X still knows the job
        seen["kept"] = admin.jobs() == before
        triggerer = [str(BIN / "airflow"), "triggerer"]
        chaos.stack.enter_context(process(triggerer, chaos.work / "triggerer.log", env=chaos.env))
        admin.advance(3600)

    run_id, instances = run_with_fault(chaos, "2026-11-18", kill_mid_wait)
    (job,) = [j for j in admin.jobs() if j["name"] == job_name(DAG_ID, SUBMIT_TASK, run_id, 0)]
    assert seen["kept"] and seen["link"].endswith(f"/plugin/x-compliance/x-compliance/jobs/{job['id']}")
    tries = {ti["task_id"]: ti["try_number"] for ti in instances}
    assert tries[WAIT_TASK] == 1, tries  # the trigger resumed: the sensor was not retried


def _blocked_delete(cluster: Postgres) -> bool:
    with psycopg.connect(cluster.dsn("warehouse")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'DELETE FROM tweets%'"
        ).fetchone()
    return bool(row and row[0])


def _triggerers(airflow_home: str) -> list[psutil.Process]:
    """This instance's triggerer (not another test's, found by AIRFLOW_HOME) with every process
    it started: what an OOM kill of its container would take down."""
    found: list[psutil.Process] = []
    for proc in processes(lambda cmdline: cmdline.rstrip().endswith("airflow triggerer")):
        try:
            if proc.environ().get("AIRFLOW_HOME") == airflow_home:
                found += [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
    return list({proc.pid: proc for proc in found}.values())
