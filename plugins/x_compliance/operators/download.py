"""``XComplianceDownloadOperator``: fetch a complete job's results as a normalized Parquet file."""

from __future__ import annotations

from typing import Any

from x_compliance.operators import steps
from x_compliance.operators.base import XComplianceBaseOperator


class XComplianceDownloadOperator(XComplianceBaseOperator):
    """Download the results of job ``job_id`` to ``results_path`` (Parquet, written atomically).

    Accepts what real files hold (blank lines, ``\\r\\n``, duplicates, missing ``redacted_at``,
    both timestamp styles); a malformed line fails the task naming the line, and nothing is
    written. Returns ``{"job_id", "job_type", "path", "rows", "counts": {reason: n}, ...}``.

    :param job_id: the complete job (usually the create task's XCom).
    :param results_path: where the Parquet file goes: a path or ``ObjectStoragePath``.
    :param wait_report: the wait task's ``wait_report`` XCom, passed on to the apply step.
    :param uploaded_ids: how many IDs the job got (the submit or upload task's ``ids``): the
        download is capped at 800 bytes a result for that many.
    :param ids_path: without ``uploaded_ids``, the ID file the job got: its size bounds how many
        IDs went up, which sizes the cap the same way.
    :param max_download_bytes: the cap itself, overriding the connection's
        ``max_download_bytes`` extra and the default; counted after decompression.
    """

    template_fields = ("job_id", "results_path", "wait_report", "uploaded_ids", "ids_path")

    def __init__(
        self,
        *,
        job_id: str,
        results_path: Any,
        wait_report: dict | None = None,
        uploaded_ids: int | None = None,
        ids_path: Any = None,
        max_download_bytes: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.results_path = results_path
        self.wait_report = wait_report
        self.uploaded_ids = uploaded_ids
        self.ids_path = ids_path
        self.max_download_bytes = max_download_bytes

    def execute(self, context: Any) -> dict[str, Any]:
        return steps.download(
            self.hook,
            str(self.job_id),
            self.results_path,
            wait_report=self.wait_report if isinstance(self.wait_report, dict) else None,
            uploaded_ids=int(self.uploaded_ids) if self.uploaded_ids else None,
            ids_path=self.ids_path or None,
            max_bytes=self.max_download_bytes,
        )
