"""``XComplianceUploadOperator``: stream a file of IDs to a job, validated line by line first."""

from __future__ import annotations

from typing import Any

from x_compliance.operators import steps
from x_compliance.operators.base import XComplianceBaseOperator
from x_compliance.operators.links import JOB_ID_KEY, UPLOADED_AT_KEY


class XComplianceUploadOperator(XComplianceBaseOperator):
    """Upload the IDs in ``ids_path`` to job ``job_id``.

    Every line is checked before a byte is sent (1 to 19 digits once spaces, ``\\r`` and a BOM
    are stripped; blank lines skipped); a bad line fails the task naming file, line and value.
    A retry after a successful upload does nothing. When the job's upload window has passed,
    a new job is created for the IDs (``replace_lapsed_job``), or the task fails saying a new
    job is needed.

    Pushes the summary, and the id of the job that got the IDs under the XCom key ``job_id``
    (``upload.output["job_id"]``): downstream tasks should wait on that one.

    :param job_id: the job to feed (usually the create task's XCom).
    :param ids_path: a path or ``ObjectStoragePath`` (file://, s3://, gs://...), one ID per line.
    :param replace_lapsed_job: create a new job when the upload window of ``job_id`` passed.
    """

    template_fields = ("job_id", "ids_path")

    def __init__(self, *, job_id: str, ids_path: Any, replace_lapsed_job: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.ids_path = ids_path
        self.replace_lapsed_job = replace_lapsed_job

    def execute(self, context: Any) -> dict[str, Any]:
        new_jobs = steps.MAX_NEW_JOBS if self.replace_lapsed_job else 0
        summary = steps.upload(self.hook, str(self.job_id), self.ids_path, max_new_jobs=new_jobs)
        self.linked_job_id = summary["job_id"]  # a replacement, when the window lapsed
        context["ti"].xcom_push(key=JOB_ID_KEY, value=summary["job_id"])
        context["ti"].xcom_push(key=UPLOADED_AT_KEY, value=summary["uploaded_at"])
        return summary
