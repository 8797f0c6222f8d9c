"""Daily compliance of the warehouse's Posts: export → create → upload → wait → download → apply.

Each run checks the Posts created in its data interval (so backfills touch only their own
partition), removes those X reports deleted, deactivated, protected, suspended or bounced,
clears the geo columns of those it reports ``scrub_geo``, and audits every change in
``compliance_audit`` in the same transaction. Tasks share data only through the storage root
(``X_COMPLIANCE_STORAGE_ROOT``: file:// by default, s3:// or gs:// in production) and small
XComs, so the DAG runs unchanged on Celery or Kubernetes workers, and any SQL connection
works in place of the SQLite default.
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
from x_compliance.warehouse.tables import TWEETS

WAREHOUSE_CONN_ID = os.environ.get("X_COMPLIANCE_WAREHOUSE_CONN_ID", "warehouse_default")
X_CONN_ID = os.environ.get("X_COMPLIANCE_CONN_ID", "x_compliance_default")
STORAGE_ROOT = os.environ.get(
    "X_COMPLIANCE_STORAGE_ROOT", (Path(__file__).resolve().parents[1] / "data" / "x_compliance").as_uri()
)
POLL_SECONDS = float(os.environ.get("X_COMPLIANCE_POLL_SECONDS", "30"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("X_COMPLIANCE_RETRY_DELAY_SECONDS", "60")))
# One folder per run: a retried or re-run task finds its own files, two runs never share one.
RUN_DIR = STORAGE_ROOT + "/tweets/{{ ds }}/{{ run_id | replace(':', '') | replace('+', '') }}"
COMPLIANT_TWEETS = Asset(name="compliant_tweets", uri="x-compliance://warehouse/tweets")


def _x_timestamp(moment: pendulum.DateTime) -> str:
    """Interval bounds in the warehouse's timestamp format (ISO 8601, UTC, milliseconds)."""
    return moment.in_timezone("UTC").strftime("%Y-%m-%dT%H:%M:%S.000Z")


@task(multiple_outputs=True)
def export_partition(destination: str, data_interval_start=None, data_interval_end=None) -> dict:
    """Write the ids of the Posts created in this run's interval; skip the run if there are none."""
    warehouse = BaseHook.get_hook(WAREHOUSE_CONN_ID)
    start, end = _x_timestamp(data_interval_start), _x_timestamp(data_interval_end)
    exported = export_ids(warehouse, TWEETS, destination, start=start, end=end)
    if not exported["ids"]:
        raise AirflowSkipException(f"No Posts created in [{start}, {end}): nothing to check with X")
    return exported


@task(outlets=[COMPLIANT_TWEETS])
def apply_to_warehouse(
    downloaded: dict, exported: dict, dag=None, run_id=None, data_interval_start=None, outlet_events=None
) -> dict:
    """Remove, scrub and audit, in one transaction, what X flagged in this partition."""
    day = data_interval_start.in_timezone("UTC").to_date_string()
    applied = apply_results(
        BaseHook.get_hook(WAREHOUSE_CONN_ID),
        TWEETS,
        downloaded["path"],
        ids_path=exported["path"],
        job_id=downloaded["job_id"],
        run_id=run_id,
        scope={"kind": "daily", "checked": f"Posts created on {day}", "date": day},
        downloaded=downloaded,
        dag_id=dag.dag_id,
        ids_sent=exported["ids"],
    )
    outlet_events[COMPLIANT_TWEETS].extra = applied["asset_extra"]
    return applied


with DAG(
    dag_id="x_compliance_tweets",
    description="Honour deletions, protections, suspensions and geo scrubs of stored Posts",
    # Data intervals (not Airflow 3's default zero-length cron triggers): a run checks the day
    # that just ended, and backfills cover their days exactly.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 8, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    tags=["x", "compliance", "tweets"],
    default_args={"retries": 2, "retry_delay": RETRY_DELAY, "x_compliance_conn_id": X_CONN_ID},
    doc_md=__doc__,
) as dag:
    exported = export_partition(destination=RUN_DIR + "/ids.txt")
    job, downloaded = compliance_job(
        "tweets",
        ids_path=exported["path"],
        results_path=RUN_DIR + "/results.parquet",
        poll_interval=POLL_SECONDS,
    )
    exported >> job
    apply_to_warehouse(downloaded, exported)
