"""Bad input on either side, exported IDs or X's results: a clear error that names where, and
nothing applied; or, for a reason X may add one day, the documented safe choice (removal)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.dags.expected import after_tweets_run
from tests.dags.harness import run_tweets_dag
from x_compliance_emulator import Fault

pytestmark = pytest.mark.usefixtures("airflow_db")


def _printed(capfd) -> str:
    """What the run wrote: task logs go to the console under dag.test()."""
    captured = capfd.readouterr()
    return captured.out + captured.err


IN_PARTITION = "2026-11-19T12:00:00.000Z"  # created on the date the run checks


@pytest.mark.parametrize(
    ("bad_id", "shown"),
    # SQLite's BIGINT affinity stores a 20-digit number as a float: the export refuses it as such.
    [(None, "NULL"), ("12x45", "12x45"), ("12345678901234567890", "1.2345678901234567e+19")],
    ids=["null", "non-digit", "20-digits"],
)
def test_bad_exported_id_fails_before_any_job(dag_env, capfd, bad_id, shown):
    with sqlite3.connect(dag_env["warehouse"]) as db:
        db.execute(
            "INSERT INTO tweets (id, author_id, created_at, text) VALUES (?, 1, ?, 'bad')",
            (bad_id, IN_PARTITION),
        )
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "failed"
    assert outcome.task_states["export_ids"] == "failed"
    assert outcome.unchanged() and outcome.jobs == []
    out = _printed(capfd)
    assert "tweets.id" in out and repr(shown) in out and "line" in out, out[-3000:]


def test_malformed_result_line_fails_naming_the_line(dag_env, capfd):
    dag_env["emulator"].emulator.faults.add(Fault("corrupt_results", error="malformed_line"))
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "failed"
    assert outcome.task_states["download_results"] == "failed"
    assert outcome.unchanged()
    assert not list(dag_env["storage"].rglob("results.parquet")), "nothing written at the final path"
    assert "not JSON" in _printed(capfd)


def test_result_for_an_id_never_uploaded_applies_nothing(dag_env, capfd):
    dag_env["emulator"].emulator.faults.add(Fault("corrupt_results", error="stray_id"))
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "failed"
    assert outcome.task_states["apply_to_warehouse"] == "failed"
    assert outcome.unchanged()
    assert "never uploaded" in _printed(capfd)


def test_unknown_reason_removes_the_row_and_says_so(dag_env, caplog):
    emulator = dag_env["emulator"].emulator
    emulator.faults.add(Fault("corrupt_results", error="unknown_reason"))
    outcome = run_tweets_dag(dag_env)
    assert outcome.state == "success"
    (ids_file,) = dag_env["storage"].rglob("ids.txt")
    first = ids_file.read_text().split()[0]
    partition = {
        i for i in outcome.before if i in outcome.before and str(i) in set(ids_file.read_text().split())
    }

    def fate(record_id: str):  # the fault's line comes last: an earlier line for the ID wins
        return emulator.fate("tweets", record_id) or ("vanished" if record_id == first else None)

    expected = after_tweets_run(outcome.before, {}, partition, fate)
    assert outcome.tweets == expected.tweets and outcome.audit == expected.audit
    if emulator.fate("tweets", first) is None:
        assert (int(first), "tweets", "deleted", "vanished") in outcome.audit
        assert "does not know: ['vanished']" in caplog.text
