"""Daily compliance of the warehouse's Posts: scope → export → create → upload → wait → download → apply.

The run for UTC date D (its logical date; without one, the ``date`` param or yesterday) sends
X, in one job, the Posts created on D and the Posts in D's rotation slot, so every stored
Post is re-checked at least once in any ``X_COMPLIANCE_RECHECK_DAYS`` (7) consecutive daily
runs, however late it was loaded. It removes those X reports deleted, deactivated, protected,
suspended or bounced, clears the geo columns of those it reports ``scrub_geo``, and audits
every change in ``compliance_audit`` in the same transaction. Trigger it with
``{"mode": "sweep", "created_from": ..., "created_to": ...}`` (or no range: everything) to
re-check a range now, in as few jobs as ``max_ids_per_job`` allows. Tasks share data only
through the storage root (``X_COMPLIANCE_STORAGE_ROOT``: file:// by default, s3:// or gs://
in production) and small XComs, so the DAG runs unchanged on Celery or Kubernetes workers, and
any SQL connection works in place of the SQLite default.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset

from x_compliance.compat import CronDataIntervalTimetable
from x_compliance.warehouse.run import compliance_params, max_ids_per_job_from_env, warehouse_compliance
from x_compliance.warehouse.tables import TWEETS

WAREHOUSE_CONN_ID = os.environ.get("X_COMPLIANCE_WAREHOUSE_CONN_ID", "warehouse_default")
X_CONN_ID = os.environ.get("X_COMPLIANCE_CONN_ID", "x_compliance_default")
STORAGE_ROOT = os.environ.get(
    "X_COMPLIANCE_STORAGE_ROOT", (Path(__file__).resolve().parents[1] / "data" / "x_compliance").as_uri()
)
POLL_SECONDS = float(os.environ.get("X_COMPLIANCE_POLL_SECONDS", "1"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("X_COMPLIANCE_RETRY_DELAY_SECONDS", "60")))
COMPLIANT_TWEETS = Asset(name="compliant_tweets", uri="x-compliance://warehouse/tweets")

with DAG(
    dag_id="x_compliance_tweets",
    description="Honour deletions, protections, suspensions and geo scrubs of stored Posts",
    # The run with logical date D runs after D ends and checks D.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 8, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    params=compliance_params(max_ids_per_job_from_env()),
    tags=["x", "compliance", "tweets"],
    default_args={"retries": 2, "retry_delay": RETRY_DELAY, "x_compliance_conn_id": X_CONN_ID},
    doc_md=__doc__,
) as dag:
    warehouse_compliance(
        TWEETS,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        storage_root=STORAGE_ROOT,
        poll_interval=POLL_SECONDS,
        outlets=[COMPLIANT_TWEETS],
    )
