"""Weekly compliance of the warehouse's users: export → create → upload → wait → download → apply.

Every stored user is checked (an account can be deleted, protected or suspended at any time,
whenever it was created). Flagged users are removed, or their ``location`` cleared for
``scrub_geo``; the Posts of deleted, deactivated, protected and suspended accounts are removed
from ``tweets`` too, audited as ``cascade_deleted``. One transaction, as in the tweets DAG.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, BaseHook, CronDataIntervalTimetable, task
from airflow.sdk.exceptions import AirflowSkipException

from x_compliance.task_groups import compliance_job
from x_compliance.warehouse.apply import apply_results
from x_compliance.warehouse.export import export_ids
from x_compliance.warehouse.tables import USERS

WAREHOUSE_CONN_ID = os.environ.get("X_COMPLIANCE_WAREHOUSE_CONN_ID", "warehouse_default")
X_CONN_ID = os.environ.get("X_COMPLIANCE_CONN_ID", "x_compliance_default")
STORAGE_ROOT = os.environ.get(
    "X_COMPLIANCE_STORAGE_ROOT", (Path(__file__).resolve().parents[1] / "data" / "x_compliance").as_uri()
)
POLL_SECONDS = float(os.environ.get("X_COMPLIANCE_POLL_SECONDS", "30"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("X_COMPLIANCE_RETRY_DELAY_SECONDS", "60")))
RUN_DIR = STORAGE_ROOT + "/users/{{ ds }}/{{ run_id | replace(':', '') | replace('+', '') }}"
COMPLIANT_USERS = Asset(name="compliant_users", uri="x-compliance://warehouse/users")
COMPLIANT_TWEETS = Asset(name="compliant_tweets", uri="x-compliance://warehouse/tweets")


@task(multiple_outputs=True)
def export_all_users(destination: str) -> dict:
    """Write the id of every stored user; skip the run when the table is empty."""
    exported = export_ids(BaseHook.get_hook(WAREHOUSE_CONN_ID), USERS, destination)
    if not exported["ids"]:
        raise AirflowSkipException("The users table is empty: nothing to check with X")
    return exported


@task(outlets=[COMPLIANT_USERS, COMPLIANT_TWEETS])
def apply_to_warehouse(downloaded: dict, exported: dict, dag=None, run_id=None, outlet_events=None) -> dict:
    """Remove or scrub flagged users and cascade to their Posts, audited, in one transaction."""
    applied = apply_results(
        BaseHook.get_hook(WAREHOUSE_CONN_ID),
        USERS,
        downloaded["path"],
        ids_path=exported["path"],
        job_id=downloaded["job_id"],
        run_id=run_id,
        scope={"kind": "sweep", "checked": "every stored user"},
        downloaded=downloaded,
        dag_id=dag.dag_id,
        ids_sent=exported["ids"],
    )
    outlet_events[COMPLIANT_USERS].extra = applied["asset_extra"]
    outlet_events[COMPLIANT_TWEETS].extra = applied["asset_extra"]
    return applied


with DAG(
    dag_id="x_compliance_users",
    description="Honour deleted, deactivated, protected and suspended accounts, and their Posts",
    schedule=CronDataIntervalTimetable("0 0 * * 0", timezone="UTC"),
    start_date=pendulum.datetime(2026, 8, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["x", "compliance", "users"],
    default_args={"retries": 2, "retry_delay": RETRY_DELAY, "x_compliance_conn_id": X_CONN_ID},
    doc_md=__doc__,
) as dag:
    exported = export_all_users(destination=RUN_DIR + "/ids.txt")
    job, downloaded = compliance_job(
        "users",
        ids_path=exported["path"],
        results_path=RUN_DIR + "/results.parquet",
        poll_interval=POLL_SECONDS,
    )
    exported >> job
    apply_to_warehouse(downloaded, exported)
