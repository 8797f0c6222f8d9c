"""``XComplianceSubmitJobOperator``: create a job and upload its IDs, in one task.

X allows one active job per type, and a job leaves the slot only once it has its IDs and X
has processed them. Made and fed by one task, a job holding the slot always gets its IDs, so
several submits (one per file, mapped) follow one another, each deferred until the job before
it is done. The waits of a run's jobs share X's budget: each submit plans its wait on the job
before it from that job's IDs and the pace of the jobs before (the previous submit's XCom), and
hands the pace, now with that job measured, on to the next (:mod:`x_compliance.hooks.run_budget`).

Split into a create task and an upload task, a second create could wait for a slot
that only its own run's pending upload frees: ``airflow dags test``, which runs a deferred
task's trigger inline before any other task, deadlocks on exactly that.
"""

from __future__ import annotations

from typing import Any

from x_compliance.exceptions import ReplacementBlockedError
from x_compliance.files.storage_paths import as_storage_path
from x_compliance.hooks.jobs import ComplianceJob, JobStatus, JobType
from x_compliance.hooks.run_budget import RunPace, WaitPlan, measured_seconds, plan_wait
from x_compliance.operators import steps
from x_compliance.operators.create import XComplianceCreateJobOperator
from x_compliance.operators.links import JOB_ID_KEY, UPLOADED_AT_KEY
from x_compliance.triggers.events import JobEvent

IDS_KEY = "ids"
# Files at least this big use the resumable protocol when `resumable` is left to us.
RESUMABLE_THRESHOLD_BYTES = 8 << 20


class XComplianceSubmitJobOperator(XComplianceCreateJobOperator):
    """Create a job (or find the one an earlier try created) and upload ``ids_path`` to it.

    Returns ``{"job_id", "ids", "bytes", "uploaded_at", "pace", "jobs_after", "status_limit", ...}``
    (``status_limit``: the job-status endpoint's headers as last seen, for the wait's first call),
    and pushes ``job_id``,
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
    :param jobs_after: the run's jobs after this one (mapped: the map indexes after it), whose
        waits share X's budget with this job's.
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
        jobs_after: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(job_type=job_type, name=name, resumable=bool(resumable), **kwargs)
        self.ids_path = ids_path
        self.resumable_choice = resumable
        self.max_new_jobs = max_new_jobs
        self.jobs_after = jobs_after
        self.slot_freed_by: JobEvent | None = None  # how the wait for the slot ended, if it waited

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
            uploaded = steps.upload(self.hook, job, self.ids_path, max_new_jobs=new_jobs_left)
        except ReplacementBlockedError as blocked:
            self.log.warning("%s: waiting for the slot", blocked)
            left = blocked.new_jobs_left
            self.defer_until_slot_is_free(context, blocked.name, deadline, new_jobs_left=left)
        if uploaded["job_id"] != job.id:  # a replacement got the IDs
            self.linked_job_id = uploaded["job_id"]
            ti.xcom_push(key=JOB_ID_KEY, value=uploaded["job_id"])
        ti.xcom_push(key=UPLOADED_AT_KEY, value=uploaded["uploaded_at"])
        ti.xcom_push(key=IDS_KEY, value=uploaded["ids"])
        uploaded = {
            **uploaded,
            "pace": self.run_pace(context).to_json(),
            "jobs_after": self.jobs_after,
            "status_limit": self.status_limit(context),
        }
        return self.on_uploaded(context, uploaded)

    def on_uploaded(self, context: Any, uploaded: dict[str, Any]) -> Any:
        """What to do once the job has its IDs; here, return the upload summary."""
        ids = "its IDs" if uploaded["ids"] is None else f"{uploaded['ids']:,} IDs"
        self.log.info("Job %s has %s: X processes it now", uploaded["job_id"], ids)
        return uploaded

    def execute_after_slot_wait(self, context: Any, event: Any = None, **kwargs: Any) -> Any:
        """Note how the wait for the slot ended (its job, when it saw it complete), then go on."""
        if isinstance(event, dict) and "job_id" in event:
            self.slot_freed_by = JobEvent.from_payload(event)
        return super().execute_after_slot_wait(context, event, **kwargs)

    def previous_submit(self, context: Any) -> dict[str, Any]:
        """What the run's previous job's submit returned (the map index before this one's):
        its job, IDs, upload time and the pace before it. Empty for the first or an unmapped job."""
        ti = context["ti"]
        if ti.map_index is None or ti.map_index <= 0:
            return {}
        pulled = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index - 1)
        return pulled if isinstance(pulled, dict) else {}

    def slot_wait_plan(self, context: Any, blocker: ComplianceJob) -> WaitPlan:
        """The wait on the run's previous job: its first call when X is likely done with it, at the
        pace of the jobs before it. The blocker and every job from this one on share the budget."""
        previous = self.previous_submit(context)
        if previous.get("job_id") != blocker.id:  # not the run's previous job: nothing known of it
            return WaitPlan(jobs_after=self.jobs_after + 1)
        return plan_wait(
            ids=previous.get("ids"),
            uploaded_at=previous.get("uploaded_at"),
            pace=RunPace.from_json(previous.get("pace")),
            jobs_after=self.jobs_after + 1,
            status_limit=previous.get("status_limit"),
        )

    def status_limit(self, context: Any) -> dict[str, Any] | None:
        """The job-status endpoint's headers as last seen: after this task's wait for the slot,
        else as the previous submit handed them on (plain JSON; ``None`` when none were seen)."""
        if self.slot_freed_by is not None and self.slot_freed_by.status_limit is not None:
            return self.slot_freed_by.status_limit
        known = self.hook.status_rate_limit
        return known.to_json() if known is not None else self.previous_submit(context).get("status_limit")

    def run_pace(self, context: Any) -> RunPace:
        """X's pace over the run's jobs before this one: the previous submit's, with the previous
        job added when this task's wait for the slot saw it complete."""
        previous = self.previous_submit(context)
        pace = RunPace.from_json(previous.get("pace"))
        freed = self.slot_freed_by
        if freed is None or freed.job_id != previous.get("job_id") or freed.job_status != JobStatus.COMPLETE:
            return pace
        seconds = measured_seconds(previous.get("uploaded_at"), freed.seen_at, freed.unfinished_at)
        return pace.plus(previous.get("ids"), seconds)
