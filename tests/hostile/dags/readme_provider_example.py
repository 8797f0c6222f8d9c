"""The README's provider example as a DAG file: submit, wait (deferred), download, the download
capped by the IDs submit sent. Its paths come from the folder the test names."""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import DAG

from x_compliance import XComplianceDownloadOperator, XComplianceJobSensor, XComplianceSubmitJobOperator

FOLDER = os.environ.get("X_COMPLIANCE_EXAMPLE_FOLDER", "/tmp")

with DAG(
    "readme_provider_example",
    schedule=None,
    tags=["x-compliance", "test"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
):
    submit = XComplianceSubmitJobOperator(task_id="submit", job_type="tweets", ids_path=f"{FOLDER}/ids.txt")
    wait = XComplianceJobSensor(
        task_id="wait_for_job",
        job_id=submit.output["job_id"],
        uploaded_at=submit.output["uploaded_at"],
        deferrable=True,
        poke_interval=0.2,  # the README's sensor, polling at a test's pace
    )
    download = XComplianceDownloadOperator(
        task_id="download_results",
        job_id=submit.output["job_id"],
        uploaded_ids=submit.output["ids"],
        results_path=f"{FOLDER}/results.parquet",
    )
    wait >> download
