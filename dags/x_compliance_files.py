"""Daily compliance of X data kept in files: scope → export → create → upload → wait → download → apply.

The dataset root (the ``files_root`` param, default ``X_COMPLIANCE_FILES_ROOT``: a demo folder,
``s3://`` or ``gs://`` in production) holds data in one ``format``: ``twarc2`` JSON lines (raw
pages or flattened Posts), a ``parquet`` dataset of Posts by day (``date=DAY/*.parquet``), or
``delta`` Lake tables of Posts (the folders under the root holding a ``_delta_log``).
The run for UTC date D sends X the records created on D and D's rotation slot of every stored
one, Post IDs in a tweets job and user IDs (authors too) in a users job, so every stored
record is re-checked at least once in any ``X_COMPLIANCE_RECHECK_DAYS`` (7) consecutive daily
runs. It removes what X reports gone (a removed account's Posts too), takes the geo off
``scrub_geo`` Posts, and rewrites only the files that hold a flagged record, each whole or not
at all (a Delta table: one merge, then no older version kept beyond
``delta_retention_hours``); every change is audited as Parquet in
``<root>/.x-compliance/audit/``. Sweeps and ``max_ids_per_job`` as in the warehouse DAGs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, Param

from x_compliance.compat import CronDataIntervalTimetable
from x_compliance.lake.dataset import FORMATS
from x_compliance.lake.journal import AUDIT_CONN_ENV
from x_compliance.lake.run import (
    AUDIT_CONN_PARAM,
    FILES_ROOT_PARAM,
    FORMAT_PARAM,
    RETENTION_PARAM,
    files_compliance,
)
from x_compliance.run_steps import compliance_params, max_ids_per_job_from_env

X_CONN_ID = os.environ.get("X_COMPLIANCE_CONN_ID", "x_compliance_default")
FILES_ROOT = os.environ.get(
    "X_COMPLIANCE_FILES_ROOT", (Path(__file__).resolve().parents[1] / "data" / "x_files").as_uri()
)
STORAGE_ROOT = os.environ.get(
    "X_COMPLIANCE_STORAGE_ROOT", (Path(__file__).resolve().parents[1] / "data" / "x_compliance").as_uri()
)
POLL_SECONDS = float(os.environ.get("X_COMPLIANCE_POLL_SECONDS", "1"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("X_COMPLIANCE_RETRY_DELAY_SECONDS", "60")))
COMPLIANT_FILES = Asset(name="compliant_files", uri="x-compliance://files/dataset")

with DAG(
    dag_id="x_compliance_files",
    description="Honour deletions, protections, suspensions and geo scrubs in X data kept in files",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 8, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # runs rewrite the same files: one at a time
    params={
        **compliance_params(max_ids_per_job_from_env()),
        FILES_ROOT_PARAM: Param(FILES_ROOT, type="string", title="Dataset root (file://, s3://)"),
        FORMAT_PARAM: Param(
            os.environ.get("X_COMPLIANCE_FILES_FORMAT", "twarc2"),
            type="string",
            enum=list(FORMATS),
            title="Format of the data",
        ),
        RETENTION_PARAM: Param(
            0, type="integer", minimum=0, title="Delta: hours older table versions stay readable"
        ),
        AUDIT_CONN_PARAM: Param(
            os.environ.get(AUDIT_CONN_ENV, ""),
            type="string",
            title="SQL connection for the audit (compliance_file_audit); empty: Parquet beside the dataset",
        ),
    },
    tags=["x", "compliance", "files"],
    default_args={"retries": 2, "retry_delay": RETRY_DELAY, "x_compliance_conn_id": X_CONN_ID},
    doc_md=__doc__,
) as dag:
    files_compliance(storage_root=STORAGE_ROOT, poll_interval=POLL_SECONDS, outlets=[COMPLIANT_FILES])
