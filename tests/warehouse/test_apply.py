"""The warehouse apply called directly, on a seeded SQLite warehouse and on PostgreSQL: each
staging route (ADBC ingest, COPY, executemany) leaves exactly the tables the rule asks for,
computed by ``tests/dags/expected.py`` without the provider's code; and a failure in any job,
wherever it happens, leaves the warehouse as it was."""

from __future__ import annotations

import csv
import io
import logging
import random
import re
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.dags.conftest import read_table
from tests.dags.expected import after_tweets_run, after_users_run
from tests.hostile.conftest import fingerprint
from x_compliance.exceptions import MalformedResultError, XComplianceError
from x_compliance.warehouse import stage
from x_compliance.warehouse.apply import JobResults, apply_jobs
from x_compliance.warehouse.stage import ADBC, COPY, EXECUTEMANY, ApplyConnection
from x_compliance.warehouse.tables import TWEETS, USERS

REASONS = ["deleted", "deactivated", "protected", "suspended", "scrub_geo", "bounced", "vanished"]


def _job(folder: Path, job_id: str, fates: dict[int, str], sent: list[int]) -> JobResults:
    """A job that was sent ``sent`` and flagged ``fates`` (one result line each, in that order)."""
    folder.mkdir(parents=True, exist_ok=True)
    results, ids = folder / f"results-{job_id}.parquet", folder / f"ids-{job_id}.txt"
    pq.write_table(pa.table({"id": [str(i) for i in fates], "reason": list(fates.values())}), results)
    ids.write_text("".join(f"{i}\n" for i in sent))
    return JobResults(job_id, results, ids)


def _fates(ids: list[int], rng: random.Random, share: float = 0.4) -> dict[int, str]:
    chosen = rng.sample(ids, int(len(ids) * share))
    return {record_id: REASONS[n % len(REASONS)] for n, record_id in enumerate(chosen)}


def _audit(path: Path) -> set[tuple]:
    with sqlite3.connect(path) as db:
        return set(db.execute("SELECT record_id, table_name, change, reason FROM compliance_audit"))


def _segments_locate_the_audit(path: Path) -> None:
    """Each segment's rowid range holds exactly its rows, and the segments count every audit row."""
    with sqlite3.connect(path) as db:
        segments = db.execute(
            "SELECT job_id, table_name, change, reason, audited_rows, first_row, last_row "
            "FROM compliance_audit_segments"
        ).fetchall()
        counted = db.execute(
            "SELECT job_id, table_name, change, reason, COUNT(*) FROM compliance_audit "
            "GROUP BY job_id, table_name, change, reason"
        ).fetchall()
        for *kind, rows, first, last in segments:
            in_range = db.execute(
                "SELECT DISTINCT job_id, table_name, change, reason FROM compliance_audit "
                "WHERE rowid BETWEEN ? AND ?",
                (first, last),
            ).fetchall()
            assert (rows == 0 and first is None) or (last - first + 1 == rows and in_range == [tuple(kind)])
    totals: dict[tuple, int] = {}
    for *kind, rows, _, _ in segments:
        totals[tuple(kind)] = totals.get(tuple(kind), 0) + rows
    assert {k: n for k, n in totals.items() if n} == {tuple(kind): n for *kind, n in counted}


def _tables_left(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture(params=[ADBC, EXECUTEMANY])
def route(request, monkeypatch, sqlite_hook) -> str:
    """The ADBC ingest, or executemany as any DB-API driver without a bulk path gets it."""
    if request.param == EXECUTEMANY:
        monkeypatch.setattr(stage, "arrow_source", lambda hook: None)
    connection = ApplyConnection(sqlite_hook)
    connection.close()
    assert connection.route == request.param
    return request.param


def test_each_route_applies_a_tweets_job_exactly(route, sqlite_hook, warehouse, tmp_path):
    tweets, users = read_table(warehouse, "tweets"), read_table(warehouse, "users")
    sent = sorted(tweets)[::2]
    fates = _fates(sent, random.Random(1))
    (summary,) = apply_jobs(sqlite_hook, TWEETS, [_job(tmp_path, "7", fates, sent)], run_id="r1")
    expected = after_tweets_run(tweets, users, set(sent), lambda i: fates.get(int(i)))
    assert read_table(warehouse, "tweets") == expected.tweets
    assert _audit(warehouse) == expected.audit
    assert {change for _, _, change, _ in expected.audit} == {"deleted", "geo_scrubbed"}
    assert summary["results"] == len(fates) and summary["deleted"] + summary["geo_scrubbed"] == len(
        expected.audit
    )
    _segments_locate_the_audit(warehouse)
    tables = {"users", "tweets", "compliance_audit", "compliance_runs", "compliance_audit_segments"}
    assert _tables_left(warehouse) == tables


def test_each_route_applies_a_users_job_with_its_cascades(route, sqlite_hook, warehouse, tmp_path):
    tweets, users = read_table(warehouse, "tweets"), read_table(warehouse, "users")
    fates = _fates(sorted(users), random.Random(2), share=0.5)
    (summary,) = apply_jobs(sqlite_hook, USERS, [_job(tmp_path, "8", fates, sorted(users))], run_id="r2")
    expected = after_users_run(tweets, users, lambda i: fates.get(int(i)))
    assert read_table(warehouse, "users") == expected.users
    assert read_table(warehouse, "tweets") == expected.tweets
    assert _audit(warehouse) == expected.audit
    assert summary["cascade_deleted"] == sum(1 for row in expected.audit if row[2] == "cascade_deleted") > 0
    _segments_locate_the_audit(warehouse)


def test_the_same_results_applied_twice_change_nothing_the_second_time(sqlite_hook, warehouse, tmp_path):
    users = read_table(warehouse, "users")
    job = _job(tmp_path, "9", _fates(sorted(users), random.Random(3)), sorted(users))
    apply_jobs(sqlite_hook, USERS, [job], run_id="r3")
    audited = _audit(warehouse)
    (again,) = apply_jobs(sqlite_hook, USERS, [job], run_id="r4")
    assert (again["deleted"], again["geo_scrubbed"], again["cascade_deleted"]) == (0, 0, 0)
    assert _audit(warehouse) == audited
    # Its row says what this apply changed, and why it is nothing: the earlier apply changed them.
    assert (
        f"applied before by run r3 at {_applied_at(warehouse, 'r3')}, which changed {len(audited):,} rows"
        in (again["summary"])
    )
    _segments_locate_the_audit(warehouse)


def _applied_at(path: Path, run_id: str) -> str:
    with sqlite3.connect(path) as db:
        (at,) = db.execute(
            "SELECT DISTINCT changed_at FROM compliance_audit WHERE run_id = ?", (run_id,)
        ).fetchone()
    return at


def _two_jobs(warehouse: Path, folder: Path) -> tuple[list[JobResults], dict[int, str]]:
    """Two jobs of one run over the Posts, each with its own half."""
    tweets = sorted(read_table(warehouse, "tweets"))
    first, second = tweets[::2], tweets[1::2]
    fates = _fates(second, random.Random(5))
    jobs = [_job(folder, "11", _fates(first, random.Random(4)), first), _job(folder, "12", fates, second)]
    return jobs, fates


def _applied_once(sqlite_hook, warehouse: Path, folder: Path) -> None:
    """An earlier run, so that the audit and runs tables exist and hold rows."""
    users = sorted(read_table(warehouse, "users"))[:50]
    apply_jobs(sqlite_hook, USERS, [_job(folder, "10", _fates(users, random.Random(6)), users)], run_id="r0")


def test_a_run_of_two_jobs_logs_each_job_as_it_is_applied(sqlite_hook, warehouse, tmp_path, caplog):
    jobs, _ = _two_jobs(warehouse, tmp_path)
    with caplog.at_level(logging.INFO, logger="x_compliance.warehouse.apply"):
        summaries = apply_jobs(sqlite_hook, TWEETS, jobs, run_id="r6")
    lines = [r.getMessage() for r in caplog.records if re.match(r"Job \d+ of \d+ ", r.getMessage())]
    assert [line.split(":")[0] for line in lines] == ["Job 1 of 2 (11)", "Job 2 of 2 (12)"]
    for line, summary in zip(lines, summaries, strict=True):
        changed = summary["deleted"] + summary["geo_scrubbed"] + summary["cascade_deleted"]
        assert changed and f"{summary['results']:,} results staged in " in line
        assert f", {changed:,} rows audited and changed in " in line


def test_a_change_that_misses_a_row_its_audit_counted_rolls_back_every_job(sqlite_hook, warehouse, tmp_path):
    _applied_once(sqlite_hook, warehouse, tmp_path / "earlier")
    jobs, fates = _two_jobs(warehouse, tmp_path)
    kept = next(i for i, reason in fates.items() if reason == "deleted")
    with sqlite3.connect(warehouse) as db:  # the second job's DELETE skips one row its audit read
        db.execute(
            f"CREATE TRIGGER keep_one BEFORE DELETE ON tweets WHEN OLD.id = {kept} "
            "BEGIN SELECT RAISE(IGNORE); END"
        )
    db.close()
    before = fingerprint(warehouse)
    with pytest.raises(XComplianceError, match=r"job 12: deleted:tweets changed (\d+) rows but audited"):
        apply_jobs(sqlite_hook, TWEETS, jobs, run_id="r4")
    assert fingerprint(warehouse) == before  # the first job's changes and rows rolled back too


def test_a_bad_results_line_in_the_last_job_applies_no_job(sqlite_hook, warehouse, tmp_path):
    _applied_once(sqlite_hook, warehouse, tmp_path / "earlier")
    jobs, _ = _two_jobs(warehouse, tmp_path)
    table = pq.read_table(jobs[1].results_path)
    ids = table.column("id").to_pylist()
    ids[3] = "12a4"
    pq.write_table(table.set_column(0, "id", pa.array(ids)), jobs[1].results_path)
    before = fingerprint(warehouse)
    with pytest.raises(MalformedResultError) as exc:
        apply_jobs(sqlite_hook, TWEETS, jobs, run_id="r5")
    assert exc.value.line_number == 4 and "job 12" in str(exc.value)
    assert fingerprint(warehouse) == before


def test_a_results_file_changed_after_its_check_is_refused_when_staged(warehouse, tmp_path):
    """The apply checks every job's file, then reads each again as it stages it (one job's
    records in memory at a time): a file that changed in between is refused, not applied."""
    from x_compliance.warehouse.apply import _checked_digest, _read_checked

    jobs, fates = _two_jobs(warehouse, tmp_path)
    digest = _checked_digest(jobs[1], TWEETS)
    assert _read_checked(jobs[1], TWEETS, digest)["id"].tolist() == sorted(fates)
    first = min(fates)
    other = "scrub_geo" if fates[first] != "scrub_geo" else "deleted"
    ids, reasons = [str(i) for i in fates], [other if i == first else r for i, r in fates.items()]
    pq.write_table(pa.table({"id": ids, "reason": reasons}), jobs[1].results_path)  # one reason differs
    with pytest.raises(XComplianceError, match=r"job 12: .*results-12.parquet changed while the run"):
        _read_checked(jobs[1], TWEETS, digest)


# -- PostgreSQL: COPY on psycopg 3 ------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    from tests.deploy.conftest import parts_required
    from x_compliance_demo.deploy import seed_postgres
    from x_compliance_demo.services import postgres

    with parts_required(), postgres(databases=("warehouse",)) as running:
        seed_postgres(running, tweets=1500, users=150, seed=5)
        yield running


@pytest.fixture
def postgres_hook(cluster, monkeypatch):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", cluster.airflow_conn("warehouse"))
    return PostgresHook(postgres_conn_id="warehouse_default")


def test_copy_on_postgres_applies_a_users_job_with_its_cascades(cluster, postgres_hook, tmp_path):
    import psycopg

    from x_compliance_demo.deploy import read_audit
    from x_compliance_demo.deploy import read_table as read_pg

    connection = ApplyConnection(postgres_hook)
    connection.close()
    assert connection.route == COPY
    tweets, users = read_pg(cluster, "tweets"), read_pg(cluster, "users")
    fates = _fates(sorted(users), random.Random(7), share=0.5)
    apply_jobs(postgres_hook, USERS, [_job(tmp_path, "21", fates, sorted(users))], run_id="p1")
    expected = after_users_run(tweets, users, lambda i: fates.get(int(i)))
    assert read_pg(cluster, "users") == expected.users and read_pg(cluster, "tweets") == expected.tweets
    assert set(read_audit(cluster, "p1")) == expected.audit

    # A second run whose change misses a row its audit counted: nothing of it stays.
    tweets, users = read_pg(cluster, "tweets"), read_pg(cluster, "users")
    fates = _fates(sorted(tweets), random.Random(8))
    kept = next(i for i, reason in fates.items() if reason == "bounced")
    with psycopg.connect(cluster.dsn("warehouse"), autocommit=True) as pg:
        pg.execute(
            "CREATE FUNCTION keep_one() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN IF OLD.id = {kept} THEN RETURN NULL; END IF; RETURN OLD; END $$"
        )
        pg.execute("CREATE TRIGGER keep_one BEFORE DELETE ON tweets FOR EACH ROW EXECUTE FUNCTION keep_one()")
    try:
        with pytest.raises(XComplianceError, match="rolled back"):
            apply_jobs(postgres_hook, TWEETS, [_job(tmp_path, "22", fates, sorted(tweets))], run_id="p2")
    finally:
        with psycopg.connect(cluster.dsn("warehouse"), autocommit=True) as pg:
            pg.execute("DROP TRIGGER keep_one ON tweets")
    assert read_pg(cluster, "tweets") == tweets and read_pg(cluster, "users") == users
    assert read_audit(cluster, "p2") == []

    # The Compliance page over PostgreSQL: the segments (no rowids there) list exactly the audit.
    from x_compliance.ui.audit import AuditFilter, audit_page, csv_lines
    from x_compliance.ui.queries import Warehouse

    with Warehouse(postgres_hook, "warehouse_default (postgres)") as wh:
        assert {(s.run_id, s.first_row) for s in wh.segments()} == {("p1", None)}
        first = audit_page(wh, AuditFilter(), 0)
        pages = [audit_page(wh, AuditFilter(), n).rows for n in range(first.pages)]
        listed = [
            (int(r["record_id"]), r["table_name"], r["change"], r["reason"]) for rows in pages for r in rows
        ]
        assert first.total == len(listed) == len(expected.audit) and set(listed) == expected.audit
        streamed = list(csv.reader(io.StringIO("".join(csv_lines(wh, AuditFilter())))))[1:]
        assert [(int(r[2]), r[1], r[3], r[4]) for r in streamed] == listed
