"""The README's provider example as a DAG file: create, upload, wait, download, the download
given no ``ids_path``, no count and no cap. Its paths come from the folder the test names."""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import DAG

from x_compliance import (
    XComplianceCreateJobOperator,
    XComplianceDownloadOperator,
    XComplianceJobSensor,
    XComplianceUploadOperator,
)

FOLDER = os.environ.get("X_COMPLIANCE_EXAMPLE_FOLDER", "/tmp")

with DAG(
    "readme_provider_example",
    schedule=None,
    tags=["x-compliance", "test"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
):
    create = XComplianceCreateJobOperator(task_id="create", job_type="tweets")
    upload = XComplianceUploadOperator(task_id="upload", job_id=create.output, ids_path=f"{FOLDER}/ids.txt")
    # The README's sensor, polling at a test's pace.
    wait = XComplianceJobSensor(task_id="wait", job_id=create.output, deferrable=True, poke_interval=0.2)
    download = XComplianceDownloadOperator(
        task_id="download", job_id=create.output, results_path=f"{FOLDER}/results.parquet"
    )
    create >> upload >> wait >> download
