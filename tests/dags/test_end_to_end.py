"""Both example DAGs end to end with ``dag.test()`` against the emulator and a real SQLite
warehouse: the exact expected tables, complete audit rows, idempotent re-runs, and a backfill."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from tests.dags.conftest import LOGICAL_DATE, load_dag, read_table
from tests.dags.expected import after_tweets_run, after_users_run

pytestmark = pytest.mark.usefixtures("airflow_db")


def _partition(tweets: dict[int, tuple], start, end) -> set[int]:
    lo, hi = start.strftime("%Y-%m-%dT%H:%M:%S.000Z"), end.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {tweet_id for tweet_id, row in tweets.items() if lo <= row[2] < hi}


def _audit(path, run_id=None) -> set[tuple]:
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "compliance_audit" not in tables:
            return set()
        sql = "SELECT record_id, table_name, change, reason FROM compliance_audit"
        rows = db.execute(sql + " WHERE run_id = ?", (run_id,)) if run_id else db.execute(sql)
        return set(rows)


def _run(dag_id: str, logical_date=LOGICAL_DATE):
    run = load_dag(dag_id).test(logical_date=logical_date)
    assert run.state == "success", f"{dag_id} ended {run.state}"
    return run


def _fate(emulator, job_type):
    return lambda record_id: emulator.emulator.fate(job_type, record_id)


def test_tweets_dag_leaves_exactly_the_expected_tables(dag_env):
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    run = _run("x_compliance_tweets")
    partition = _partition(tweets, run.data_interval_start, run.data_interval_end)
    assert 500 < len(partition) < len(tweets)  # one day of four
    expected = after_tweets_run(tweets, users, partition, _fate(emulator, "tweets"))
    assert expected.audit, "the seed and rates should flag some Posts"
    assert read_table(path, "tweets") == expected.tweets
    assert read_table(path, "users") == users
    assert _audit(path, run.run_id) == expected.audit
    with sqlite3.connect(path) as db:
        (jobs,) = db.execute("SELECT COUNT(DISTINCT job_id) FROM compliance_audit").fetchone()
    assert jobs == 1

    again = _run("x_compliance_tweets")  # the same partition once more: nothing left to change
    assert read_table(path, "tweets") == expected.tweets
    assert _audit(path, again.run_id) == set()


def test_users_dag_removes_scrubs_and_cascades(dag_env):
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    run = _run("x_compliance_users")
    expected = after_users_run(tweets, users, _fate(emulator, "users"))
    assert any(change == "cascade_deleted" for _, _, change, _ in expected.audit)
    assert read_table(path, "users") == expected.users
    assert read_table(path, "tweets") == expected.tweets
    assert _audit(path, run.run_id) == expected.audit


def test_two_day_backfill_touches_only_its_partitions(dag_env):
    path, emulator = dag_env["warehouse"], dag_env["emulator"]
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    state = after_tweets_run(tweets, users, set(), _fate(emulator, "tweets"))
    for day in (LOGICAL_DATE, LOGICAL_DATE + timedelta(days=1)):
        run = _run("x_compliance_tweets", logical_date=day)
        partition = _partition(tweets, run.data_interval_start, run.data_interval_end)
        step = after_tweets_run(state.tweets, users, partition, _fate(emulator, "tweets"))
        state.tweets, state.audit = step.tweets, state.audit | step.audit
    assert read_table(path, "tweets") == state.tweets
    assert _audit(path) == state.audit
    untouched = _partition(tweets, LOGICAL_DATE - timedelta(days=2), LOGICAL_DATE - timedelta(days=1))
    assert untouched and all(read_table(path, "tweets")[i] == tweets[i] for i in untouched)


def test_empty_partition_finishes_without_a_job(dag_env):
    run = _run("x_compliance_tweets", logical_date=LOGICAL_DATE + timedelta(days=30))
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["export_partition"] == "skipped"
    assert states["compliance_job.create_job"] == "skipped"
    assert dag_env["emulator"].emulator.jobs() == []
