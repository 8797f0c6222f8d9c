"""``XComplianceCreateJobOperator``: create a job, or find the one an earlier try created.

X allows one active job per type. When another holds the slot (HTTP 409) the task defers
until that job is finished, and tries again: it does not fail for that alone, and it does not
hold a worker slot while it waits.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, NoReturn

from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

from x_compliance.exceptions import ConflictError, WaitTimeoutError
from x_compliance.hooks.jobs import ComplianceJob, JobStatus, JobType
from x_compliance.hooks.pacing import Pacing
from x_compliance.hooks.run_budget import WaitPlan
from x_compliance.operators import steps
from x_compliance.operators.base import XComplianceBaseOperator
from x_compliance.operators.naming import job_name_from_context
from x_compliance.triggers.events import JobEvent

# Longest pause before looking again at a slot held by a job nobody has uploaded to yet (longer
# only when X's rate-limit headers leave no call before their reset).
SLOT_RECHECK_CEILING = 300.0


class XComplianceCreateJobOperator(XComplianceBaseOperator):
    """Create a compliance job and push its id to XCom.

    :param job_type: ``tweets`` or ``users``.
    :param name: job name (at most 64 characters). Default: derived from dag, task, run and
        map index, so a retried task reuses the job it already created instead of making another.
    :param resumable: create the job for X's resumable upload protocol (recommended: uploads
        survive dropped connections).
    :param slot_timeout: longest wait, in seconds, for another active job of the type to finish.
    :param slot_poll_interval: first pause, in seconds, between checks of the blocking job; pauses
        grow with the wait and stretch when X's rate-limit headers ask for it, as for any wait on
        a job.
    """

    template_fields = ("job_type", "name")

    def __init__(
        self,
        *,
        job_type: JobType | str,
        name: str | None = None,
        resumable: bool = True,
        slot_timeout: float = 6 * 3600,
        slot_poll_interval: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_type = job_type
        self.name = name
        self.resumable = resumable
        self.slot_timeout = slot_timeout
        self.slot_poll_interval = slot_poll_interval

    def execute(self, context: Any) -> Any:
        name = self.name or job_name_from_context(context)
        return self.create_then_continue(context, name, deadline=time.time() + self.slot_timeout)

    def execute_after_slot_wait(
        self,
        context: Any,
        event: Any = None,
        *,
        name: str | None = None,
        deadline: float | None = None,
        **state: Any,
    ) -> Any:
        """Back from waiting on the job that held the slot: whatever it ended as, try again.

        ``airflow dags test`` resumes with the trigger's event alone (its inline triggerer drops
        the deferral's kwargs): then the name is derived again, and the slot timeout restarts.
        """
        if isinstance(event, dict) and "job_id" in event:
            JobEvent.from_payload(event)  # validate; any terminal status frees the slot
        name = name or job_name_from_context(context)
        deadline = deadline if deadline is not None else time.time() + self.slot_timeout
        return self.create_then_continue(context, name, deadline=deadline, **state)

    def create_then_continue(self, context: Any, name: str, *, deadline: float, **state: Any) -> Any:
        try:
            job = steps.create_or_reuse(self.hook, self.job_type, name, self.resumable)
        except ConflictError:
            self.defer_until_slot_is_free(context, name, deadline, **state)
        self.linked_job_id = job.id
        return self.on_job_created(context, job, name=name, deadline=deadline, **state)

    def on_job_created(self, context: Any, job: ComplianceJob, **state: Any) -> Any:
        """What to do with the new job; here, hand its id to XCom (never its signed URLs)."""
        self.log.info("%s is ready for its upload (until %s)", job.describe(), job.upload_expires_at)
        return job.id

    def slot_wait_plan(self, context: Any, blocker: ComplianceJob) -> WaitPlan | None:
        """The plan of the wait on the job holding the slot (``None``: a wait on its own)."""
        return None

    def defer_until_slot_is_free(self, context: Any, name: str, deadline: float, **state: Any) -> NoReturn:
        """Defer until X's slot for the type is free, then resume in ``execute_after_slot_wait``
        (with ``name``, ``deadline`` and ``state``); raise ``WaitTimeoutError`` past ``deadline``."""
        if time.time() >= deadline:
            raise WaitTimeoutError(
                f"Another {self.job_type} compliance job held X's one-job-per-type slot for longer than "
                f"slot_timeout={self.slot_timeout:.0f}s; no job was created for {name!r}"
            )
        blocker = steps.find_active_job(self.hook, self.job_type)
        kwargs = {"name": name, "deadline": deadline, **state}
        if blocker is not None and blocker.status is not JobStatus.CREATED:
            self.log.info(
                "X allows one active %s job and %s holds it: waiting until it finishes, at most until %s",
                self.job_type,
                blocker.describe(),
                time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(deadline)),
            )
            plan = self.slot_wait_plan(context, blocker)
            self.defer_wait(
                blocker.id,
                poll_interval=self.slot_poll_interval,
                deadline=deadline,
                plan=None if plan is None else plan.to_json(),
                method_name="execute_after_slot_wait",
                kwargs=kwargs,
            )
        # Gone already, or not uploaded yet (maybe by a task still queued, such as another job of
        # this very run): its end depends on someone else, so look again after one paced interval
        # rather than wait on it. The pacing counts from the first try for the slot (the slot
        # deadline was set then; for a replacement job that time includes the upload that lapsed),
        # so the re-checks of a job nobody uploads to grow apart as a wait's calls do; from 0 they
        # would re-check at the floor until the budget other callers share ran low. Where the
        # deadline is set afresh (`airflow dags test` drops the deferral's kwargs) it starts again.
        waited = self.slot_timeout - (deadline - time.time())
        pacing = Pacing(
            floor=self.slot_poll_interval,
            ceiling=SLOT_RECHECK_CEILING,
            deadline=deadline,
            started=time.monotonic() - waited,
        )
        delay = pacing.next_pause(self.hook.last_rate_limit)
        what = "a moment ago" if blocker is None else f"by {blocker.describe()}, not uploaded yet"
        self.log.info("The %s slot was held %s; trying again in %.0fs", self.job_type, what, delay)
        self.defer(
            trigger=TimeDeltaTrigger(timedelta(seconds=delay)),
            method_name="execute_after_slot_wait",
            kwargs=kwargs,
        )
