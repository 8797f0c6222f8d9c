"""The run summary that outlives XCom: one ``compliance_runs`` row per applied job, equal to
what the audit table says changed, and the same counts on the asset event."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from airflow.models.asset import AssetEvent, AssetModel
from airflow.utils.session import create_session
from sqlalchemy import select

from tests.dags.conftest import LOGICAL_DATE, load_dag
from x_compliance.ui import pages
from x_compliance.ui.queries import Warehouse, warehouse_hook
from x_compliance.warehouse.runs import COLUMNS

pytestmark = pytest.mark.usefixtures("airflow_db")


def _rows(path, sql, *args) -> list[dict]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, args)]


def _audit_counts(path, job_id) -> dict[tuple[str, str], int]:
    sql = (
        "SELECT change, reason, COUNT(*) AS n FROM compliance_audit WHERE job_id = ? GROUP BY change, reason"
    )
    return {(r["change"], r["reason"]): r["n"] for r in _rows(path, sql, job_id)}


def _latest_extra(asset_name: str) -> dict:
    with create_session() as session:
        query = (
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == asset_name)
            .order_by(AssetEvent.id.desc())
            .limit(1)
        )
        return session.scalars(query).one()


def test_each_applied_job_writes_one_row_matching_the_audit(dag_env):
    path = dag_env["warehouse"]
    run = load_dag("x_compliance_tweets").test(logical_date=LOGICAL_DATE)
    assert run.state == "success"
    (row,) = _rows(path, "SELECT * FROM compliance_runs")
    audit = _audit_counts(path, row["job_id"])
    assert (row["dag_id"], row["run_id"], row["job_type"]) == ("x_compliance_tweets", run.run_id, "tweets")
    assert row["rows_deleted"] == sum(n for (change, _), n in audit.items() if change == "deleted")
    assert row["rows_geo_scrubbed"] == audit.get(("geo_scrubbed", "scrub_geo"), 0)
    assert row["rows_geo_scrubbed"] and row["rows_deleted"]
    per_reason = json.loads(row["flagged_json"])
    assert sum(per_reason.values()) == row["results"] >= row["rows_deleted"] + row["rows_geo_scrubbed"]
    assert all(row[f"flagged_{reason}"] == n for reason, n in per_reason.items())
    assert row["ids_sent"] > row["results"] and row["scope_kind"] == "new rows + rotation share"
    assert row["scope_date"] == run.logical_date.date().isoformat() and row["recheck_days"] == 7
    assert row["status_calls"] >= 1 and row["x_processing_seconds"] >= 0
    assert row["job_created_at"] and row["uploaded_at"] and row["completed_at"] and row["applied_at"]

    extra = _latest_extra("compliant_tweets")
    assert extra["jobs"] == [row["job_id"]] and extra["flagged_per_reason"] == per_reason
    assert extra["rows_deleted"] == row["rows_deleted"] and extra["ids_sent"] == row["ids_sent"]
    assert [job["job_id"] for job in extra["per_job"]] == [row["job_id"]]

    # The job's entry on the page shows the audit's numbers, cell by cell.
    wh = Warehouse(*warehouse_hook())
    job = wh.job(row["job_id"])
    html = pages.job_card(job, wh.job_counts(job))
    cells = re.findall(r'data-change="(\w+)" data-reason="(\w+)">([\d,]+)<', html)
    assert {(c, r): int(n.replace(",", "")) for c, r, n in cells if n != "0"} == audit

    again = load_dag("x_compliance_tweets").test(logical_date=run.logical_date)
    assert again.state == "success"
    rows = _rows(path, "SELECT job_id, rows_deleted FROM compliance_runs ORDER BY applied_at")
    assert len(rows) == 2 and rows[1]["rows_deleted"] == 0  # a second job, nothing left to change


def test_users_sweep_records_its_cascades(dag_env):
    path = dag_env["warehouse"]
    assert load_dag("x_compliance_users").test(run_conf={"mode": "sweep"}).state == "success"
    (row,) = _rows(path, "SELECT * FROM compliance_runs")
    audit = _audit_counts(path, row["job_id"])
    assert row["scope_kind"] == "sweep" and row["table_name"] == "users"
    assert row["rows_cascade_deleted"] == sum(n for (c, _), n in audit.items() if c == "cascade_deleted") > 0
    assert _latest_extra("compliant_users")["rows_cascade_deleted"] == row["rows_cascade_deleted"]


def test_page_values_are_escaped():
    row = {c: 0 for c in COLUMNS} | {
        "job_id": "1", "dag_id": "<b>dag</b>", "run_id": "manual__<script>alert(1)</script>",
        "table_name": "tweets", "job_type": "tweets", "scope_label": "<i>x</i>", "scope_kind": "new rows",
        "x_processing_seconds": None, "status_calls": None, "ids_sent": None,
    }  # fmt: skip
    html = pages.job_card(row, {})
    assert "<script>" not in html and "<b>dag" not in html and "&lt;script&gt;" in html
