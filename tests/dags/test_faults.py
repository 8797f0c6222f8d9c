"""The tweets DAG end to end under every fault X and the network can throw: the table ends
exactly right, or exactly as it was with a clear error; no job is duplicated or orphaned."""

from __future__ import annotations

import pytest

from tests.dags.harness import run_tweets_dag
from x_compliance_emulator import Fault

pytestmark = pytest.mark.usefixtures("airflow_db")


def _one_job_per_run(outcome) -> None:
    active = [j for j in outcome.jobs if j["status"] in ("created", "in_progress")]
    assert not active, f"orphaned active jobs: {active}"
    fed = [j for j in outcome.jobs if j["status"] in ("complete", "failed")]
    assert len(fed) <= 1, f"the IDs went to more than one job: {fed}"


RECOVERABLE = {
    "429 code 88 everywhere": [Fault("http_429", target="any", count=4, body="code88")],
    "429 problem everywhere": [Fault("http_429", target="any", count=4, body="problem")],
    "429 on each endpoint": [
        Fault("http_429", target=t, count=1, body=b)
        for t, b in [("create", "code88"), ("list", "problem"), ("get", "code88"), ("upload", "problem")]
    ]
    + [Fault("http_429", target="download", count=1, body="code88")],
    "500 burst": [Fault("http_500", target="any", count=3)],
    "503 burst": [Fault("http_503", target="any", count=3)],
    "slow responses": [Fault("slow", target="any", count=6, seconds=0.4)],
    "drop mid-upload": [Fault("drop", target="upload", after_bytes=5_000)],
    "drop mid-download": [Fault("drop", target="download", after_bytes=300)],
    "create answer lost": [Fault("drop", target="create")],
    "upload URL expired": [Fault("expire_upload")],
}


@pytest.mark.parametrize("faults", RECOVERABLE.values(), ids=RECOVERABLE.keys())
def test_recovers_exactly(dag_env, faults):
    for fault in faults:
        dag_env["emulator"].emulator.faults.add(fault)
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "success", outcome.task_states
    assert outcome.exactly_right()
    _one_job_per_run(outcome)
    assert not dag_env["emulator"].emulator.faults.pending(), "every fault was met"


def test_upload_url_expired_creates_a_new_job(dag_env):
    dag_env["emulator"].emulator.faults.add(Fault("expire_upload"))
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "success" and outcome.exactly_right()
    statuses = sorted(j["status"] for j in outcome.jobs)
    assert statuses == ["complete", "expired"]
    assert any(j["name"].endswith("~1") for j in outcome.jobs)


def test_waits_for_another_active_job_then_proceeds(dag_env, id_file_for):
    emulator = dag_env["emulator"]
    blocker = id_file_for(emulator, "someone-else")
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "success" and outcome.exactly_right()
    assert {j["name"] for j in outcome.jobs if j["status"] == "complete"} >= {blocker["name"]}


def test_failed_job_fails_the_run_and_changes_nothing(dag_env, capfd):
    dag_env["emulator"].emulator.faults.add(Fault("fail_job", error="Malformed ID file"))
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "failed"
    assert outcome.task_states["wait_for_job"] == "failed"
    assert outcome.unchanged()
    (job,) = outcome.jobs
    page = f"/plugin/x-compliance/x-compliance/jobs/{job['id']}"
    assert outcome.links == {"submit": page, "wait_for_job": page}  # the failed task links the job too
    assert f"X compliance job {job['id']} failed: Malformed ID file" in capfd.readouterr().out


def test_expired_download_url_fails_the_run_and_changes_nothing(dag_env, capfd):
    config = dag_env["emulator"].emulator.config
    config.download_window_seconds, config.processing_seconds_base = 1.0, 1.5
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "failed"
    assert outcome.task_states["download_results"] == "failed"
    assert outcome.unchanged()
    assert "expired" in capfd.readouterr().out.lower()
