"""``compliance_job``: the four X steps as one task group, for DAGs that bring their own
export and apply steps.

create → upload → wait (deferred: no worker held) → download, each a task of its own in the
graph, so a user sees where a run is and retries only the step that failed.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import TaskGroup, XComArg

from x_compliance.jobs import JobType
from x_compliance.operators.create import XComplianceCreateJobOperator
from x_compliance.operators.download import XComplianceDownloadOperator
from x_compliance.operators.upload import XComplianceUploadOperator
from x_compliance.sensors.job import XComplianceJobSensor
from x_compliance.wait_report import REPORT_KEY


def compliance_job(
    job_type: JobType | str,
    *,
    ids_path: Any,
    results_path: Any,
    poll_interval: float = 30.0,
    wait_timeout: float = 12 * 3600,
    group_id: str = "compliance_job",
) -> tuple[TaskGroup, Any]:
    """Return the group and the download's XCom (``{"job_id", "path", "rows", "counts"}``)."""
    with TaskGroup(group_id, tooltip=f"X compliance job for {job_type}") as group:
        # Waiting for X's slot is paced like waiting for a job: the rate-limit headers, this floor.
        create = XComplianceCreateJobOperator(
            task_id="create_job", job_type=job_type, slot_poll_interval=poll_interval
        )
        upload = XComplianceUploadOperator(task_id="upload_ids", job_id=create.output, ids_path=ids_path)
        # The upload may have replaced a lapsed job: wait for, and download, the job it fed.
        job_id = upload.output["job_id"]
        wait = XComplianceJobSensor(
            task_id="wait_for_job",
            job_id=job_id,
            uploaded_at=upload.output["uploaded_at"],
            deferrable=True,
            poke_interval=poll_interval,
            timeout=wait_timeout,
        )
        download = XComplianceDownloadOperator(
            task_id="download_results",
            job_id=job_id,
            results_path=results_path,
            wait_report=XComArg(wait, key=REPORT_KEY),
            ids_path=ids_path,
        )
        create >> upload >> wait >> download
    return group, download.output
