"""A DAG as a user of the provider writes it, in a project of their own: the four steps of a
compliance cycle, each its own task, the wait deferred to the triggerer.

It imports the provider's public operators and sensor, nothing else of this repository. The
compat check copies it alone into an empty dags folder and runs it with ``airflow dags test``,
giving the ID file and the results file in the run's conf.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from x_compliance.operators.create import XComplianceCreateJobOperator
from x_compliance.operators.download import XComplianceDownloadOperator
from x_compliance.operators.upload import XComplianceUploadOperator
from x_compliance.sensors.job import XComplianceJobSensor

with DAG(
    dag_id="user_compliance_check",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "ids_path": Param(type="string", description="one Post ID per line"),
        "results_path": Param(type="string", description="where the Parquet results go"),
    },
):
    create = XComplianceCreateJobOperator(task_id="create", job_type="tweets")
    upload = XComplianceUploadOperator(
        task_id="upload", job_id=create.output, ids_path="{{ params.ids_path }}"
    )
    # The job that got the IDs: the upload names it (a new one, should the first one's window lapse).
    uploaded_job = upload.output["job_id"]
    wait = XComplianceJobSensor(
        task_id="wait", job_id=uploaded_job, deferrable=True, poke_interval=0.5, timeout=600
    )
    download = XComplianceDownloadOperator(
        task_id="download",
        job_id=uploaded_job,
        results_path="{{ params.results_path }}",
        ids_path="{{ params.ids_path }}",
    )
    create >> upload >> wait >> download
