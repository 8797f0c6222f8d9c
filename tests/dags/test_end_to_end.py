"""Both example DAGs end to end with ``dag.test()`` against the emulator and a real SQLite
warehouse: the exact expected tables, complete audit rows, idempotent re-runs, a backfill, a
run without a logical date, and a sweep split into the expected number of jobs."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.dags.conftest import LOGICAL_DATE, load_dag, read_table
from tests.dags.expected import after_tweets_run, after_users_run, checked_on, created_between
from tests.dags.harness import audit_rows, job_links

pytestmark = pytest.mark.usefixtures("airflow_db")


def audit_frame(path, run_id=None) -> set[tuple]:
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "compliance_audit" not in tables:
            return set()
        sql = "SELECT record_id, table_name, change, reason FROM compliance_audit"
        rows = db.execute(sql + " WHERE run_id = ?", (run_id,)) if run_id else db.execute(sql)
        return set(rows)


def _run(dag_id: str, logical_date=LOGICAL_DATE, **kwargs):
    run = load_dag(dag_id).test(logical_date=logical_date, **kwargs)
    assert run.state == "success", f"{dag_id} ended {run.state}"
    return run


def _fate(emulator, job_type):
    return lambda record_id: emulator.emulator.fate(job_type, record_id)


def test_tweets_dag_leaves_exactly_the_expected_tables(dag_env, capfd):
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    run = _run("x_compliance_tweets")
    partition = checked_on(tweets, LOGICAL_DATE.date())
    new = created_between(tweets, LOGICAL_DATE.date(), LOGICAL_DATE.date())
    assert new < partition and len(new) > 500 and len(partition) < len(tweets) / 2  # a day + 1/7 of the rest
    expected = after_tweets_run(tweets, users, partition, _fate(emulator, "tweets"))
    assert expected.audit, "the seed and rates should flag some Posts"
    assert read_table(path, "tweets") == expected.tweets
    assert read_table(path, "users") == users
    assert audit_frame(path, run.run_id) == expected.audit
    with sqlite3.connect(path) as db:
        (jobs,) = db.execute("SELECT COUNT(DISTINCT job_id) FROM compliance_audit").fetchone()
    assert jobs == 1

    links = job_links(run)  # every task of the job links to it
    page = f"/plugin/x-compliance/x-compliance/jobs/{emulator.emulator.jobs()[0]['id']}"
    assert links == {"submit": page, "wait_for_job": page, "download_results": page}
    printed = capfd.readouterr()
    assert "XCom not found" not in printed.out + printed.err  # the links read no missing XCom

    again = _run("x_compliance_tweets")  # the same partition once more: nothing left to change
    assert read_table(path, "tweets") == expected.tweets
    assert audit_frame(path, again.run_id) == set()


def test_two_files_under_airflow_dags_test_run_their_jobs_one_after_another(dag_env):
    """`airflow dags test`, as a user types it: a day's IDs above ``max_ids_per_job`` go to X in
    two jobs. The second submit waits, deferred, for the first job's slot; both are applied."""
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    partition = checked_on(tweets, LOGICAL_DATE.date())
    limit = len(partition) // 2 + 1
    command = ["airflow", "dags", "test", "x_compliance_tweets", LOGICAL_DATE.date().isoformat()]
    command[0] = str(Path(sys.executable).parent / "airflow")
    done = subprocess.run(
        [*command, "-c", json.dumps({"max_ids_per_job": limit})],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    first, second = sorted(emulator.emulator.jobs(), key=lambda job: job["created_at"])
    assert (first["status"], second["status"]) == ("complete", "complete")
    assert first["ids_uploaded"] + second["ids_uploaded"] == len(partition)
    assert second["created_at"] >= first["results_ready"]  # one after another, as X allows
    expected = after_tweets_run(tweets, users, partition, _fate(emulator, "tweets"))
    assert read_table(path, "tweets") == expected.tweets
    with sqlite3.connect(path) as db:
        applied = {row[0] for row in db.execute("SELECT job_id FROM compliance_runs")}
    assert applied == {first["id"], second["id"]}
    assert audit_rows(path) == expected.audit


def test_users_dag_removes_scrubs_and_cascades(dag_env):
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    run = _run("x_compliance_users")
    expected = after_users_run(
        tweets, users, _fate(emulator, "users"), checked_on(users, LOGICAL_DATE.date())
    )
    assert any(change == "cascade_deleted" for _, _, change, _ in expected.audit)
    assert read_table(path, "users") == expected.users
    assert read_table(path, "tweets") == expected.tweets
    assert audit_frame(path, run.run_id) == expected.audit


def test_two_day_backfill_checks_exactly_its_dates(dag_env):
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    state = after_tweets_run(tweets, users, set(), _fate(emulator, "tweets"))
    for day in (LOGICAL_DATE, LOGICAL_DATE + timedelta(days=1)):
        run = _run("x_compliance_tweets", logical_date=day)
        assert run.conf == {} and run.logical_date == day
        step = after_tweets_run(
            state.tweets, users, checked_on(tweets, day.date()), _fate(emulator, "tweets")
        )
        state.tweets, state.audit = step.tweets, state.audit | step.audit
    assert read_table(path, "tweets") == state.tweets
    assert audit_frame(path) == state.audit
    checked = checked_on(tweets, LOGICAL_DATE.date()) | checked_on(
        tweets, LOGICAL_DATE.date() + timedelta(days=1)
    )
    untouched = set(tweets) - checked
    assert untouched and all(read_table(path, "tweets")[i] == tweets[i] for i in untouched)
    folders = sorted(p.name for p in (dag_env["storage"] / "tweets").iterdir())
    assert folders == ["2026-11-19", "2026-11-20"]  # named after the date each run checked


def test_empty_table_finishes_without_a_job(dag_env):
    with sqlite3.connect(dag_env["warehouse"]) as db:
        db.execute("DELETE FROM tweets")
    run = _run("x_compliance_tweets", logical_date=LOGICAL_DATE + timedelta(days=30))
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["export_ids"] == "skipped"
    assert states["submit"] == states["wait_for_job"] == states["download_results"] == "skipped"
    assert dag_env["emulator"].emulator.jobs() == []


def test_a_run_without_logical_date_checks_the_day_before_it_was_triggered(dag_env, caplog):
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    triggered = datetime(2026, 11, 20, 9, 30, tzinfo=LOGICAL_DATE.tzinfo)
    run = _run("x_compliance_tweets", logical_date=None, run_after=triggered)
    assert run.logical_date is None and run.data_interval_start is None
    expected = after_tweets_run(
        tweets, users, checked_on(tweets, date(2026, 11, 19)), _fate(emulator, "tweets")
    )
    assert read_table(path, "tweets") == expected.tweets
    assert audit_frame(path, run.run_id) == expected.audit
    assert "rows created on 2026-11-19 and rotation slot" in caplog.text
    assert "no logical date: the day before the run was triggered" in caplog.text
    assert [p.name for p in (dag_env["storage"] / "tweets").iterdir()] == ["2026-11-19"]


def test_sweep_of_a_range_sends_the_fewest_jobs(dag_env):
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    first, last = date(2026, 11, 18), date(2026, 11, 19)
    conf = {"mode": "sweep", "created_from": str(first), "created_to": str(last), "max_ids_per_job": 700}
    run = _run("x_compliance_tweets", logical_date=None, run_conf=conf)
    swept = created_between(tweets, first, last)
    jobs = emulator.emulator.jobs()
    assert len(jobs) == math.ceil(len(swept) / 700) >= 3  # two days in three jobs, not two
    assert sorted(job["ids_uploaded"] for job in jobs)[-1] == 700
    expected = after_tweets_run(tweets, users, swept, _fate(emulator, "tweets"))
    assert read_table(path, "tweets") == expected.tweets
    assert audit_frame(path, run.run_id) == expected.audit
    with sqlite3.connect(path) as db:
        audited_jobs = {row[0] for row in db.execute("SELECT DISTINCT job_id FROM compliance_audit")}
    assert audited_jobs <= {job["id"] for job in jobs} and len(audited_jobs) == len(jobs)
    (folder,) = (dag_env["storage"] / "tweets").iterdir()
    assert folder.name == "sweep-2026-11-18..2026-11-19"
