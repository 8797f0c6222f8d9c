"""The files audit in the warehouse (``audit_conn_id``): the rows the Parquet audit holds, with
the runs and segments the Compliance page reads, and exactly once across a SIGKILL on either
side of the SQL commit (a real child process) and its retry."""

from __future__ import annotations

import shutil
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from tests.lake.conftest import child
from tests.lake.files_audit import CONN_ID, dataset, sql_rows, sql_warehouse  # noqa: F401 (fixture)
from x_compliance.lake import sql_audit
from x_compliance.lake.apply import apply_jobs_to_files
from x_compliance.lake.audit_summary import dataset_name, segment_job
from x_compliance.lake.dataset import TWARC2
from x_compliance.lake.journal import audit_path, state_folder

KEY = "1-2"
APPLY = """
import os, signal, sys
from x_compliance.lake import journal, sql_audit
from x_compliance.lake.apply import FilesJob, apply_jobs_to_files
from x_compliance.lake.dataset import TWARC2
root, at, where, conn_id = sys.argv[1:5]
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if where == "after the commit":
    journal.Journal.clear = killed
else:
    sql_audit.record_segments = killed
kinds = (("1", "tweets"), ("2", "users"))
jobs = [FilesJob(i, kind, f"{at}/{kind}.parquet", f"{at}/{kind}.txt") for i, kind in kinds]
apply_jobs_to_files(root, TWARC2, jobs, run_id="run", audit_conn_id=conn_id)
"""


def parquet_rows(root: Path, as_in: Path) -> list[tuple]:
    """The Parquet audit of ``root``, named as the SQL audit of ``as_in`` names it."""
    frame = pd.read_parquet(audit_path(root.as_uri(), KEY).path)
    frame["file"] = frame["file"].str.replace(root.as_uri(), as_in.as_uri(), regex=False)
    frame["job_id"] = frame["job_id"].map(segment_job)
    columns = ["record_id", "kind", "file", "line", "part", "change", "reason", "job_id", "run_id"]
    return sorted(frame[columns].itertuples(index=False, name=None))


def expected(tmp_path: Path, root: Path, jobs) -> list[tuple]:
    reference = tmp_path / "reference"
    shutil.copytree(root, reference)
    apply_jobs_to_files(reference.as_uri(), TWARC2, jobs, run_id="run")
    return parquet_rows(reference, root)


def check_summary(path: Path, root: Path, rows: int, changed_now: int | None = None) -> None:
    """Two runs rows (what the latest apply changed: ``changed_now``, else every row) and
    segments that add up to the audit, each a range of its rowids."""
    table = dataset_name(root.as_uri())
    with closing(sqlite3.connect(path)) as db:
        runs = db.execute(
            "SELECT job_id, table_name, job_type FROM compliance_runs ORDER BY job_id"
        ).fetchall()
        assert runs == [("1", table, "tweets"), ("2", table, "users")]
        (changed,) = db.execute(
            "SELECT SUM(rows_deleted + rows_geo_scrubbed + rows_cascade_deleted) FROM compliance_runs"
        ).fetchone()
        segments = db.execute(
            "SELECT job_id, change, reason, audited_rows, first_row, last_row FROM compliance_audit_segments"
        ).fetchall()
        assert changed == (rows if changed_now is None else changed_now) and rows == sum(
            s[3] for s in segments
        )
        for job, change, reason, n, first, last in segments:
            if not n:  # an apply that changed nothing
                assert (first, last, reason) == (None, None, "none")
                continue
            found = db.execute(
                "SELECT COUNT(*) FROM compliance_file_audit WHERE rowid BETWEEN ? AND ? AND job_id = ? "
                "AND change = ? AND reason = ? AND table_name = ?",
                (first, last, job, change, reason, table),
            ).fetchone()
            assert found == (n,) == (last - first + 1,)


def test_the_sql_audit_holds_what_the_parquet_audit_holds(tmp_path, sql_warehouse, monkeypatch):  # noqa: F811
    root, jobs = dataset(tmp_path)
    truth = expected(tmp_path, root, jobs)
    assert len(truth) > 20 and {r[5] for r in truth} >= {"deleted", "cascade_deleted"}
    monkeypatch.setattr(sql_audit, "BATCH_ROWS", 7)  # a segment in several inserts, its rowids a range still
    monkeypatch.setenv("X_COMPLIANCE_FILES_AUDIT_CONN_ID", CONN_ID)  # as the DAG's task is given it
    summary = apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run")
    monkeypatch.delenv("X_COMPLIANCE_FILES_AUDIT_CONN_ID")
    assert summary["audit_rows"] == len(truth) and summary["audit_path"].startswith(CONN_ID)
    assert sql_rows(sql_warehouse) == truth
    check_summary(sql_warehouse, root, len(truth))
    assert not (state_folder(root.as_uri()) / "audit").exists()  # no Parquet audit beside it
    assert not (state_folder(root.as_uri()) / "journal" / KEY).exists()

    again = apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run", audit_conn_id=CONN_ID)
    assert again["audit_rows"] == 0 and sql_rows(sql_warehouse) == truth
    check_summary(sql_warehouse, root, len(truth), changed_now=0)  # the first apply's segments stay


@pytest.mark.slow  # a child process that imports Airflow
@pytest.mark.parametrize("where", ["after the commit", "before the commit"])
def test_a_sigkill_beside_the_sql_commit_loses_and_doubles_no_row(tmp_path, sql_warehouse, where):  # noqa: F811
    root, jobs = dataset(tmp_path)
    truth = expected(tmp_path, root, jobs)
    proc = child(APPLY, root.as_uri(), str(tmp_path / "jobs"), where, CONN_ID)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    journal = root / ".x-compliance" / "journal" / KEY
    assert len(list(journal.glob("*.parquet"))) == len(list(root.glob("*.jsonl")))  # kept until stored
    assert sql_rows(sql_warehouse) == (truth if where == "after the commit" else [])

    summary = apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run", audit_conn_id=CONN_ID)
    assert summary["files_rewritten"] == 0  # every file was swapped before the kill
    assert summary["audit_rows"] == (0 if where == "after the commit" else len(truth))
    assert sql_rows(sql_warehouse) == truth  # every row, once
    check_summary(sql_warehouse, root, len(truth))
    assert not journal.exists()


@pytest.mark.postgres
def test_on_postgres_the_page_reads_the_files_audit_by_its_columns(tmp_path, monkeypatch):
    """PostgreSQL (no rowids): the same rows stored once, and the page's pages and export of
    the dataset read by the segments' columns."""
    import psycopg

    from tests.deploy.conftest import parts_required
    from tests.lake.test_files_audit_page import get, page_client, shown_rows
    from x_compliance_demo.services import postgres

    root, jobs = dataset(tmp_path)
    truth = expected(tmp_path, root, jobs)
    with parts_required(), postgres(databases=("warehouse",)) as running:
        for conn_id in (CONN_ID, "warehouse_default"):
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", running.airflow_conn("warehouse"))
        for _ in range(2):  # the second apply finds nothing left to change
            apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run", audit_conn_id=CONN_ID)
        columns = "record_id, kind, file, line, part, change, reason, job_id, run_id"
        with psycopg.connect(running.dsn("warehouse")) as db:
            stored = sorted(db.execute(f"SELECT {columns} FROM compliance_file_audit").fetchall())
            spans = db.execute(
                "SELECT DISTINCT first_row, last_row FROM compliance_audit_segments"
            ).fetchall()
        assert stored == truth and spans == [(None, None)]
        table, client = dataset_name(root.as_uri()), page_client()
        served = [shown_rows(get(client, "/", table=table, page=p)) for p in range(-(-len(truth) // 50))]
        assert sorted(row for rows in served for row in rows) == sorted(
            (str(r[0]), r[5], r[6], r[7], r[2], str(r[3])) for r in truth
        )
