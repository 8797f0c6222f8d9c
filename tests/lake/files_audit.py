"""A small twarc2 dataset with X's verdicts on it, its jobs and a SQLite warehouse connection:
what the files audit tests apply, to Parquet beside the dataset or to SQL."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.lake.conftest import choose_flags
from tests.lake.generate import write_pages
from tests.lake.test_apply_crash import jobs_for
from x_compliance.lake.apply import FilesJob

CONN_ID = "files_audit_warehouse"
FILES, POSTS = 3, 200


def dataset(folder: Path, files: int = FILES, posts: int = POSTS) -> tuple[Path, list[FilesJob]]:
    """``files`` twarc2 files of ``posts`` Posts each (the same Posts: every file changes), and
    the tweets and users jobs that flag some of them."""
    root = folder / "dataset"
    root.mkdir(parents=True)
    for k in range(files):
        write_pages(root / f"day{k:02d}.jsonl", posts)
    flags = choose_flags(root / "day00.jsonl", 7, share=0.05)
    return root, jobs_for(folder / "jobs", flags)


@pytest.fixture
def sql_warehouse(tmp_path, monkeypatch) -> Path:
    """A SQLite warehouse behind the connection ``CONN_ID`` (and the page's default one)."""
    path = tmp_path / "warehouse.db"
    conn = json.dumps({"conn_type": "sqlite", "host": str(path)})
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", conn)
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", conn)
    return path


def sql_rows(path: Path, table: str = "compliance_file_audit") -> list[tuple]:
    columns = "record_id, kind, file, line, part, change, reason, job_id, run_id"
    with closing(sqlite3.connect(path)) as db:
        return sorted(db.execute(f"SELECT {columns} FROM {table}").fetchall())
