"""``XComplianceSubmitJobOperator``: create a job and upload its IDs, in one task.

X allows one active job per type, and a job leaves the slot only once it has its IDs and X
has processed them. Made and fed by one task, a job holding the slot always gets its IDs, so
several submits (one per file, mapped) follow one another, each deferred until the job before
it is done. Split into a create task and an upload task, a second create could wait for a slot
that only its own run's pending upload frees: ``airflow dags test``, which runs a deferred
task's trigger inline before any other task, deadlocks on exactly that.
"""

from __future__ import annotations

from typing import Any

from x_compliance.exceptions import ReplacementBlockedError
from x_compliance.files.storage_paths import as_storage_path
from x_compliance.hooks.jobs import ComplianceJob, JobType
from x_compliance.operators import steps
from x_compliance.operators.create import XComplianceCreateJobOperator
from x_compliance.operators.links import JOB_ID_KEY

UPLOADED_AT_KEY = "uploaded_at"
IDS_KEY = "ids"
# Files at least this big use the resumable protocol when `resumable` is left to us.
RESUMABLE_THRESHOLD_BYTES = 8 << 20


class XComplianceSubmitJobOperator(XComplianceCreateJobOperator):
    """Create a job (or find the one an earlier try created) and upload ``ids_path`` to it.

    Returns ``{"job_id", "ids", "bytes", "uploaded_at", ...}``, and pushes ``job_id``,
    ``uploaded_at`` and ``ids`` under keys of their own (``submit.output["job_id"]``) for the
    sensor and the download (whose cap ``ids`` sets). ``job_id`` is pushed the moment the job
    exists, and the task's job link opens it from then on, while it uploads or after it failed. A
    retry after the upload uploads nothing again (``ids`` is then counted from the file,
    ``uploaded_at`` is None). While another job holds X's slot the task defers; a job whose
    upload window lapsed is replaced by a new one.

    :param job_type: ``tweets`` or ``users``.
    :param ids_path: the IDs to check (path or ``ObjectStoragePath``), one per line; every line
        is checked before a byte is sent.
    :param name: job name; default derived from dag, task, run and map index.
    :param resumable: use X's resumable upload; default: yes for files of 8 MB and more.
    :param max_new_jobs: how many replacement jobs to create when upload windows lapse.
    :param slot_timeout: longest wait, in seconds, for another active job of the type to finish.
    :param slot_poll_interval: first pause, in seconds, between checks of the blocking job.
    """

    template_fields = ("job_type", "name", "ids_path")

    def __init__(
        self,
        *,
        job_type: JobType | str,
        ids_path: Any,
        name: str | None = None,
        resumable: bool | None = None,
        max_new_jobs: int = steps.MAX_NEW_JOBS,
        **kwargs: Any,
    ) -> None:
        super().__init__(job_type=job_type, name=name, resumable=bool(resumable), **kwargs)
        self.ids_path = ids_path
        self.resumable_choice = resumable
        self.max_new_jobs = max_new_jobs

    def execute(self, context: Any) -> Any:
        if self.resumable_choice is None:
            size = as_storage_path(self.ids_path).stat().st_size
            self.resumable = size >= RESUMABLE_THRESHOLD_BYTES
        self.log.info("Submitting the %s IDs in %s to X", self.job_type, self.ids_path)
        return super().execute(context)

    def on_job_created(self, context: Any, job: ComplianceJob, *, deadline: float, **state: Any) -> Any:
        """Upload to the job (replacing it when its window lapsed), then go on with
        :meth:`on_uploaded`. A replacement blocked by another job holding X's slot is waited for
        like any create: deferred, then created under its name with the replacements it has left."""
        ti = context["ti"]
        ti.xcom_push(key=JOB_ID_KEY, value=job.id)
        new_jobs_left = int(state.get("new_jobs_left", self.max_new_jobs))
        try:
            uploaded = steps.upload(self.hook, job.id, self.ids_path, max_new_jobs=new_jobs_left)
        except ReplacementBlockedError as blocked:
            self.log.warning("%s: waiting for the slot", blocked)
            self.defer_until_slot_is_free(blocked.name, deadline, new_jobs_left=blocked.new_jobs_left)
        if uploaded["job_id"] != job.id:  # a replacement got the IDs
            self.linked_job_id = uploaded["job_id"]
            ti.xcom_push(key=JOB_ID_KEY, value=uploaded["job_id"])
        ti.xcom_push(key=UPLOADED_AT_KEY, value=uploaded["uploaded_at"])
        ti.xcom_push(key=IDS_KEY, value=uploaded["ids"])
        return self.on_uploaded(context, uploaded)

    def on_uploaded(self, context: Any, uploaded: dict[str, Any]) -> Any:
        """What to do once the job has its IDs; here, return the upload summary."""
        ids = "its IDs" if uploaded["ids"] is None else f"{uploaded['ids']:,} IDs"
        self.log.info("Job %s has %s: X processes it now", uploaded["job_id"], ids)
        return uploaded
