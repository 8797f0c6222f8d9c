"""``XComplianceJobOperator``: the whole cycle (create, upload, wait, download) in one task.

The one-task alternative to the example DAGs' steps (submit → wait → download), for users who
want one box in the graph. It *is* a submit operator that goes on: once the job has its IDs,
it waits (deferred, or on the worker) and downloads, with the very same step functions.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.providers.common.compat.sdk import conf

from x_compliance.hooks.jobs import ComplianceJob, JobType
from x_compliance.hooks.run_budget import RunPace, WaitPlan, plan_wait
from x_compliance.hooks.wait_report import describe, wait_report
from x_compliance.operators import steps
from x_compliance.operators.links import UPLOADED_AT_KEY
from x_compliance.operators.submit import XComplianceSubmitJobOperator


class XComplianceJobOperator(XComplianceSubmitJobOperator):
    """Run a compliance job end to end and return the download summary.

    :param job_type: ``tweets`` or ``users``.
    :param ids_path: the IDs to check (path or ``ObjectStoragePath``), one per line.
    :param results_path: where the normalized Parquet results go.
    :param name: job name; default derived from dag, task, run and map index.
    :param resumable: use X's resumable upload; default: yes for files of 8 MB and more.
    :param deferrable: wait in the triggerer rather than on a worker.
    :param poll_interval: shortest pause between status calls, in seconds; the first call comes
        when X is likely done (:mod:`x_compliance.hooks.run_budget`), pauses grow with the wait (a
        tenth of the time since the upload) and stretch when X's rate-limit headers ask for it.
    :param max_poll_interval: longest pause between status calls, in seconds, unless X's
        rate-limit headers leave no call before their reset.
    :param wait_timeout: longest wait for X to process the job, in seconds.
    :param max_new_jobs: how many replacement jobs to create when upload windows lapse.
    :param max_download_bytes: cap on the results download (decompressed); default from the
        connection's ``max_download_bytes`` extra, else from the size of ``ids_path``.
    """

    template_fields = (*XComplianceSubmitJobOperator.template_fields, "results_path")

    def __init__(
        self,
        *,
        job_type: JobType | str,
        ids_path: Any,
        results_path: Any,
        name: str | None = None,
        resumable: bool | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 1.0,
        max_poll_interval: float = 900.0,
        wait_timeout: float = 24 * 3600,
        max_new_jobs: int = steps.MAX_NEW_JOBS,
        max_download_bytes: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.update(job_type=job_type, ids_path=ids_path, name=name, resumable=resumable)
        super().__init__(max_new_jobs=max_new_jobs, **kwargs)
        self.results_path = results_path
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.wait_timeout = wait_timeout
        self.max_download_bytes = max_download_bytes

    def on_uploaded(self, context: Any, uploaded: dict[str, Any]) -> dict[str, Any]:
        """The job has its IDs: wait for X, then download its results."""
        plan = plan_wait(
            ids=uploaded["ids"],
            uploaded_at=uploaded["uploaded_at"],
            pace=RunPace.from_json(uploaded.get("pace")),
            jobs_after=uploaded.get("jobs_after", 0),
        )
        return self.wait_then_download(uploaded["job_id"], uploaded_at=uploaded["uploaded_at"], plan=plan)

    def wait_then_download(
        self, job_id: str, *, uploaded_at: str | None, plan: WaitPlan | None = None
    ) -> dict[str, Any]:
        """Wait for X (the first status call when ``plan`` says it is likely done), then download."""
        deadline = time.time() + self.wait_timeout
        plan = plan or WaitPlan()
        pacing = {"poll_interval": self.poll_interval, "max_poll_interval": self.max_poll_interval}
        if not self.deferrable:
            job, calls = steps.wait(self.hook, job_id, deadline=deadline, plan=plan, **pacing)
            return self.download(job, status_calls=calls, uploaded_at=uploaded_at)
        looks = 0
        if plan.is_due():  # one look first: no deferral for a job that is already done
            job, looks = self.hook.get_job(job_id), 1
            if job.status.is_terminal():
                return self.download(job.raise_for_status(), status_calls=1, uploaded_at=uploaded_at)
        self.defer_wait(
            job_id,
            deadline=deadline,
            plan=plan.to_json(),
            method_name="execute_complete",
            kwargs={"uploaded_at": uploaded_at, "status_calls": looks},
            **pacing,
        )

    def execute_complete(
        self, context: Any, event: Any = None, uploaded_at: str | None = None, status_calls: int = 1
    ) -> dict[str, Any]:
        job, result = self.complete_job_after_wait(event)
        if uploaded_at is None:
            ti = context["ti"]
            uploaded_at = ti.xcom_pull(task_ids=ti.task_id, key=UPLOADED_AT_KEY, map_indexes=ti.map_index)
        # the looks before deferring, the trigger's calls, and the read of the job just now
        calls = status_calls + (result.status_calls or 0) + 1
        return self.download(job, status_calls=calls, uploaded_at=uploaded_at, completed_at=result.seen_at)

    def download(self, job: ComplianceJob, **seen: Any) -> dict[str, Any]:
        """Download the complete job as the last status call returned it: no read of its own."""
        report = wait_report(job.id, job.status.value, created_at=job.created_at.isoformat(), **seen)
        self.log.info("%s", describe(report))
        return steps.download(
            self.hook,
            job,
            self.results_path,
            wait_report=report,
            ids_path=self.ids_path,
            max_bytes=self.max_download_bytes,
        )
