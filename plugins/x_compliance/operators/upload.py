"""``XComplianceUploadOperator``: stream a file of IDs to a job, validated line by line first."""

from __future__ import annotations

from typing import Any

from x_compliance import steps
from x_compliance.operators.base import XComplianceBaseOperator


class XComplianceUploadOperator(XComplianceBaseOperator):
    """Upload the IDs in ``ids_path`` to job ``job_id``.

    Every line is checked before a byte is sent (1 to 19 digits once spaces, ``\\r`` and a BOM
    are stripped; blank lines skipped); a bad line fails the task naming file, line and value.
    A retry after a successful upload does nothing. An expired upload URL fails with a message
    saying a new job is needed.

    :param job_id: the job to feed (usually the create task's XCom).
    :param ids_path: a path or ``ObjectStoragePath`` (file://, s3://, gs://...), one ID per line.
    """

    template_fields = ("job_id", "ids_path")

    def __init__(self, *, job_id: str, ids_path: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.ids_path = ids_path

    def execute(self, context: Any) -> dict[str, Any]:
        return steps.upload(self.hook, str(self.job_id), self.ids_path)
