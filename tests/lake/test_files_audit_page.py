"""The Compliance page's files datasets, through its FastAPI app in this process: a dataset
audited as Parquet beside it (its own view: jobs, counts per change and reason, every page of
its audited changes with file and line, the CSV export), one audited to the warehouse (a table
among the warehouse's), and roots that are missing or whose audit is unreadable (shown as
unavailable, named, never a crash, never a secret)."""

from __future__ import annotations

import csv
import io
import re
import shutil

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.lake.files_audit import CONN_ID, dataset, sql_rows, sql_warehouse  # noqa: F401 (fixture)
from x_compliance.lake.apply import apply_jobs_to_files
from x_compliance.lake.audit_summary import dataset_name, public_root
from x_compliance.lake.dataset import TWARC2
from x_compliance.lake.journal import audit_path
from x_compliance.ui.audit import PAGE_SIZE
from x_compliance.ui.files import FILES_FIELDS
from x_compliance.warehouse.scope import resolve_scope

PAGE = "/x-compliance"  # the app is mounted there; in-process its routes start at /
# A daily run's scope as the files DAG's first task decides it (slot 3 of a 7-day rotation).
DAILY, _ = resolve_scope({"date": "2026-12-05"}, logical_date=None, run_after=None, recheck_days=7)


def page_client() -> TestClient:
    """The page's app with Airflow's authentication lifted (no API server in this process)."""
    from x_compliance.ui.app import create_app

    app = create_app()
    for dependency in app.router.dependencies:
        app.dependency_overrides[dependency.dependency] = lambda: None
    return TestClient(app)


def get(client: TestClient, path: str, **params) -> str:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


def shown_rows(html: str) -> list[tuple[str, ...]]:
    """(record, change, reason, job, file, line) of each row of the page's audit table."""
    table = html.split('<table id="audit"')[1].split("</table>")[0]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
        rows.append((cells[2], cells[3], cells[4], cells[5], cells[7], cells[8]))
    return rows


@pytest.fixture
def audited(tmp_path, sql_warehouse, monkeypatch) -> dict:  # noqa: F811
    """A dataset audited as Parquet, listed with a missing root and one whose audit is broken."""
    root, jobs = dataset(tmp_path / "parquet")
    apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run", scope=DAILY)
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    audit_path(broken.as_uri(), "1-2").write_bytes(b"PAR1 not a parquet file")
    missing = (tmp_path / "missing").as_uri() + "?sig=SECRET"
    monkeypatch.setenv("X_COMPLIANCE_FILES_ROOTS", f"{root.as_uri()}, {missing} {broken.as_uri()}")
    frame = pd.read_parquet(audit_path(root.as_uri(), "1-2").path)
    return {"root": root, "frame": frame, "missing": missing, "broken": broken}


def test_a_parquet_audited_dataset_shows_its_jobs_counts_pages_and_export(audited):
    client, frame, root = page_client(), audited["frame"], audited["root"]
    overview = get(client, "/")
    cards = re.findall(r'data-files-source="([^"]+)" data-available="(\w+)"(?: data-rows="(\d+)")?', overview)
    assert cards == [
        (root.as_uri(), "true", str(len(frame))),
        (public_root(audited["missing"]), "false", ""),
        (audited["broken"].as_uri(), "false", ""),
    ]
    assert "SECRET" not in overview and "the root does not exist" in overview
    assert "its audit file jobs-1-2.parquet cannot be read (ArrowInvalid)" in overview

    view = get(client, "/files/0")
    slot = DAILY["rotation_slot"]  # one slot of seven, from the run rows in the audit's footer
    assert f'data-coverage="{dataset_name(root.as_uri())}" data-share="0.1429" data-slots="{slot}"' in view
    counts = frame.groupby(["change", "reason"]).size()
    shown = dict(((c, r), int(n)) for c, r, n in re.findall(
        r'data-change="(\w+)" data-reason="(\w+)">([\d,]+)<', view.replace(",", "")))  # fmt: skip
    assert shown == {key: int(n) for key, n in counts.items()}
    assert (
        len(
            re.findall(
                r'<a class="id" data-airflow href="[^"]+/jobs/(\d)"', view.split('<table id="audit"')[0]
            )
        )
        == 2
    )

    # Every page, in the audit's own order (job, change, reason, then file and line), newest apply first.
    expected = [
        (str(r.record_id), r.change, r.reason, r.job_id.split(",")[0], r.file, str(r.line))
        for r in frame.itertuples()
    ]
    order = sorted({(r[3], r[1], r[2]) for r in expected}, reverse=True)
    expected = [row for key in order for row in expected if (row[3], row[1], row[2]) == key]
    pages = -(-len(expected) // PAGE_SIZE)
    served = [shown_rows(get(client, "/files/0", page=page)) for page in range(pages)]
    assert [row for rows in served for row in rows] == expected
    last = get(client, "/files/0", page=10**9)
    assert f"Page {pages} of {pages}" in last and shown_rows(last) == expected[(pages - 1) * PAGE_SIZE :]
    deleted = get(client, "/files/0", reason="deleted")
    assert f"Download CSV ({sum(r[2] == 'deleted' for r in expected):,} rows)" in deleted
    assert f'href="{PAGE}/files/0/audit.csv?reason=deleted' in deleted

    job = get(client, "/jobs/2")  # a job of the Parquet audit has its own entry too
    assert 'data-job="2"' in job and shown_rows(job) == [r for r in expected if r[3] == "2"][:PAGE_SIZE]
    exported = list(csv.reader(io.StringIO(get(client, "/files/0/audit.csv"))))
    assert exported[0] == list(FILES_FIELDS) and len(exported) == len(frame) + 1
    assert sorted((r[2], r[3], r[4], r[8], r[9]) for r in exported[1:]) == sorted(
        (str(r.record_id), r.change, r.reason, r.file, str(r.line)) for r in frame.itertuples()
    )
    assert {r[1] for r in exported[1:]} == {dataset_name(root.as_uri())}


def test_a_missing_or_unreadable_source_is_named_and_never_crashes_the_page(audited):
    client = page_client()
    for index, why in ((1, "the root does not exist"), (2, "cannot be read (ArrowInvalid)")):
        view = get(client, f"/files/{index}")
        assert 'data-available="false"' in view and why in view and "SECRET" not in view
        refused = client.get(f"/files/{index}/audit.csv")
        assert refused.status_code == 503 and why in refused.text and "SECRET" not in refused.text
    unknown = client.get("/files/3")
    assert unknown.status_code == 404 and "3 configured" in unknown.text


def test_a_dataset_audited_to_the_warehouse_is_one_of_its_tables(tmp_path, sql_warehouse, monkeypatch):  # noqa: F811
    """Audited with ``audit_conn_id`` the page's warehouse: its jobs among the latest, its name
    in the table filter, its rows (with file and line) paged and exported from the warehouse."""
    monkeypatch.delenv("X_COMPLIANCE_FILES_ROOTS", raising=False)
    monkeypatch.delenv("X_COMPLIANCE_FILES_ROOT", raising=False)
    root, jobs = dataset(tmp_path)
    apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run", audit_conn_id=CONN_ID, scope=DAILY)
    table, stored = dataset_name(root.as_uri()), sql_rows(sql_warehouse)
    client = page_client()
    overview = get(client, "/")
    assert f'<option value="{table}">' in overview and 'id="files"' not in overview  # no Parquet source
    assert f'data-coverage="{table}" data-share="0.1429" data-slots="{DAILY["rotation_slot"]}"' in overview
    latest = overview.split("<table id='runs'")[1].split("</table>")[0]
    assert sorted(re.findall(r'/jobs/(\d+)"', latest)) == ["1", "2"]  # its two jobs among the latest
    served, page = [], 0
    while True:
        html = get(client, "/", table=table, page=page)
        served += shown_rows(html)
        if f'data-page="{page + 1}"' not in html:
            break
        page += 1
    assert sorted(served) == sorted((str(r[0]), r[5], r[6], r[7], r[2], str(r[3])) for r in stored)
    exported = list(csv.reader(io.StringIO(get(client, "/audit.csv", table=table))))
    assert exported[0][-2:] == ["file", "line"] and len(exported) == len(stored) + 1
    job = get(client, "/jobs/1")
    assert 'data-job="1"' in job and table in job
