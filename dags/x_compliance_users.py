"""Daily compliance of the warehouse's users: scope → export → create → upload → wait → download → apply.

An account can be deleted, protected or suspended at any time, whenever it was created: the
run for UTC date D checks the users created on D and D's rotation slot, so every stored user
is re-checked at least once in any ``X_COMPLIANCE_RECHECK_DAYS`` (7) consecutive daily runs.
Flagged users are removed, or their ``location`` cleared for ``scrub_geo``; the Posts of
deleted, deactivated, protected and suspended accounts are removed from ``tweets`` too,
audited as ``cascade_deleted``. One transaction, params and sweeps as in the tweets DAG.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset

from x_compliance.compat import CronDataIntervalTimetable
from x_compliance.warehouse.run import compliance_params, max_ids_per_job_from_env, warehouse_compliance
from x_compliance.warehouse.tables import USERS

WAREHOUSE_CONN_ID = os.environ.get("X_COMPLIANCE_WAREHOUSE_CONN_ID", "warehouse_default")
X_CONN_ID = os.environ.get("X_COMPLIANCE_CONN_ID", "x_compliance_default")
STORAGE_ROOT = os.environ.get(
    "X_COMPLIANCE_STORAGE_ROOT", (Path(__file__).resolve().parents[1] / "data" / "x_compliance").as_uri()
)
POLL_SECONDS = float(os.environ.get("X_COMPLIANCE_POLL_SECONDS", "1"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("X_COMPLIANCE_RETRY_DELAY_SECONDS", "60")))
COMPLIANT_USERS = Asset(name="compliant_users", uri="x-compliance://warehouse/users")
COMPLIANT_TWEETS = Asset(name="compliant_tweets", uri="x-compliance://warehouse/tweets")

with DAG(
    dag_id="x_compliance_users",
    description="Honour deleted, deactivated, protected and suspended accounts, and their Posts",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 8, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    params=compliance_params(max_ids_per_job_from_env()),
    tags=["x", "compliance", "users"],
    default_args={"retries": 2, "retry_delay": RETRY_DELAY, "x_compliance_conn_id": X_CONN_ID},
    doc_md=__doc__,
) as dag:
    warehouse_compliance(
        USERS,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        storage_root=STORAGE_ROOT,
        poll_interval=POLL_SECONDS,
        outlets=[COMPLIANT_USERS, COMPLIANT_TWEETS],
    )
