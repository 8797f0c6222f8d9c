"""The Compliance page over a large Parquet audit (ten row groups): a page view reads the audit
files' footers and the one or two row groups that hold the page, never the whole audit."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.lake.test_files_audit_page import get, page_client, shown_rows
from x_compliance.lake.apply import FilesJob
from x_compliance.lake.audit_summary import AUDIT_ORDER
from x_compliance.lake.journal import AppliedRun, Journal, audit_path, store_audit
from x_compliance.ui.audit import PAGE_SIZE

pytestmark = pytest.mark.slow  # 300k audit rows written first
ROWS = 300_000  # ten row groups of 32k: enough for a page to fall in any of them
CHANGES = [("deleted", "deleted"), ("deleted", "suspended"), ("geo_scrubbed", "scrub_geo"),
           ("cascade_deleted", "deleted")]  # fmt: skip


def large_audit(root) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    kinds = rng.integers(0, len(CHANGES), ROWS)
    frame = pd.DataFrame({
        "record_id": rng.integers(10**18, 2 * 10**18, ROWS),
        "kind": "post",
        "file": [f"{root.as_uri()}/day{k:03d}.jsonl" for k in rng.integers(0, 30, ROWS)],
        "line": rng.integers(1, 10**6, ROWS),
        "part": "data",
        "change": [CHANGES[k][0] for k in kinds],
        "reason": [CHANGES[k][1] for k in kinds],
        "job_id": np.where(kinds == 3, "2", "1"),
        "run_id": "run",
        "changed_at": "2026-12-01T00:00:00.000Z",
    })  # fmt: skip
    flagged = {job: (int((frame.job_id == job).sum()), {}) for job in "12"}
    verdicts = SimpleNamespace(flagged_of=flagged.get)
    jobs = [FilesJob("1", "tweets", None, None), FilesJob("2", "users", None, None)]
    journal = Journal(root.as_uri(), "1-2")
    for name, rows in frame.groupby("file"):  # one entry per file, as the apply journals them
        journal.record(name, rows)
    applied = AppliedRun(jobs, verdicts, "run", "x_compliance_files")
    store_audit(root.as_uri(), journal, "1-2", applied=applied)
    return frame.sort_values(AUDIT_ORDER, kind="stable", ignore_index=True)  # the order the page reads


def test_a_page_of_a_large_audit_reads_one_or_two_row_groups(tmp_path, monkeypatch, capsys):
    root = tmp_path / "dataset"
    root.mkdir()
    frame = large_audit(root)
    monkeypatch.setenv("X_COMPLIANCE_FILES_ROOTS", root.as_uri())
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT", '{"conn_type": "sqlite", "host": "%s"}' % (tmp_path / "w.db")
    )
    groups_read = []
    read_row_groups = pq.ParquetFile.read_row_groups

    def counted(self, row_groups, *args, **kwargs):
        groups_read.append(len(row_groups))
        return read_row_groups(self, row_groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", counted)
    client = page_client()
    get(client, "/")  # warm: imports, the first warehouse connection
    took = {}
    pages = -(-ROWS // PAGE_SIZE)
    views = {"first page": {}, "middle page": {"page": pages // 2}, "last page": {"page": pages - 1},
             "a reason's middle page": {"reason": "suspended", "page": pages // 8}}  # fmt: skip
    for name, params in views.items():
        groups_read.clear()
        start = time.perf_counter()
        html = get(client, "/files/0", **params)
        took[name] = time.perf_counter() - start
        assert 1 <= sum(groups_read) <= 2 and len(shown_rows(html)) == PAGE_SIZE, (name, groups_read)
    start = time.perf_counter()
    get(client, "/")
    took["overview"] = time.perf_counter() - start
    start = time.perf_counter()
    whole = pd.read_parquet(audit_path(root.as_uri(), "1-2").path)
    took["one full read of the audit (what a page does not do)"] = time.perf_counter() - start
    assert len(whole) == ROWS
    middle = shown_rows(get(client, "/files/0", page=pages // 2))
    order = sorted(
        {(j, c, r) for c, r in CHANGES for j in "12" if (j == "2") == (c == "cascade_deleted")}, reverse=True
    )
    expected = pd.concat(
        [frame[(frame.job_id == j) & (frame.change == c) & (frame.reason == r)] for j, c, r in order]
    )
    at = (pages // 2) * PAGE_SIZE
    assert [row[0] for row in middle] == [str(i) for i in expected["record_id"].iloc[at : at + PAGE_SIZE]]
    with capsys.disabled():
        print("\n" + "\n".join(f"  {name}: {seconds * 1000:.0f} ms" for name, seconds in took.items()))
    assert max(v for k, v in took.items() if "full read" not in k) < 2.0  # interactive, on a shared machine
