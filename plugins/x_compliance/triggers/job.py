"""``XComplianceJobTrigger``: waits in the triggerer until a compliance job is terminal.

Serialized with only JSON values (connection id, job id, intervals, deadline, the wait's plan
in its run): never a token, never a signed URL. The connection is read inside ``run()``. What
follows each status call (pause, back off while X is unreachable, stop, give up at the deadline)
is the rule every wait shares, :class:`~x_compliance.hooks.watch.JobWatch`; the trigger only
turns its end into an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from x_compliance.hooks.jobs import ComplianceJob
from x_compliance.hooks.responses import RateLimit
from x_compliance.hooks.run_budget import WaitPlan
from x_compliance.hooks.wait_report import now_iso
from x_compliance.hooks.watch import JobWatch, Next, Step
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.triggers.events import ERROR, FINISHED, TIMEOUT, JobEvent


class XComplianceJobTrigger(BaseTrigger):
    """Poll one job until it is ``complete``, ``failed`` or ``expired``, or the deadline passes.

    :param job_id: the compliance job to watch.
    :param x_compliance_conn_id: connection to X (read in the triggerer, never serialized).
    :param poll_interval: first pause between two status calls, in seconds; pauses grow with the
        wait (a tenth of the time waited) and stretch further when X's rate-limit headers ask for it
        (:mod:`x_compliance.hooks.pacing`).
    :param max_poll_interval: longest pause between two status calls, in seconds, unless X's
        rate-limit headers leave no call before their reset.
    :param deadline: wall-clock epoch seconds after which the wait ends with a timeout event.
    :param plan: the wait's place in its run (:class:`~x_compliance.hooks.run_budget.WaitPlan`
        as JSON): the first status call when X is likely done, calls kept for the run's later jobs.
    """

    def __init__(
        self,
        job_id: str,
        x_compliance_conn_id: str = XComplianceHook.default_conn_name,
        poll_interval: float = 1.0,
        max_poll_interval: float = 900.0,
        deadline: float | None = None,
        plan: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.x_compliance_conn_id = x_compliance_conn_id
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.deadline = deadline
        self.plan = plan

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {
            "job_id": self.job_id,
            "x_compliance_conn_id": self.x_compliance_conn_id,
            "poll_interval": self.poll_interval,
            "max_poll_interval": self.max_poll_interval,
            "deadline": self.deadline,
        }
        if self.plan is not None:  # absent, the kwargs are those an earlier version stored
            kwargs["plan"] = self.plan
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = XComplianceHook(self.x_compliance_conn_id)
        plan = WaitPlan.from_json(self.plan)
        if plan is not None:
            hook.knows_status_limit(plan.status_limit)
        # The wait counts from the upload when the plan says when it ended, else from the first
        # status call (a triggerer that takes the trigger over then starts it again: short
        # pauses first, still within X's budget).
        watch = JobWatch(
            self.log,
            self.job_id,
            poll_interval=self.poll_interval,
            max_poll_interval=self.max_poll_interval,
            deadline=self.deadline,
            plan=plan,
        )
        await asyncio.sleep(watch.first_pause())
        while True:
            try:
                outcome: ComplianceJob | BaseException = await hook.aget_job(self.job_id, once=True)
            except Exception as exc:
                outcome = exc
            step = watch.after(outcome, hook.status_rate_limit)
            if step.next is not Next.PAUSE:
                yield TriggerEvent(self._event(step, watch, hook.status_rate_limit).to_payload())
                return
            await asyncio.sleep(step.pause)

    def _event(self, step: Step, watch: JobWatch, status_limit: RateLimit | None) -> JobEvent:
        """The event of a wait that ended: the job terminal, a call failed for good, or the deadline."""
        if step.next is Next.DONE and step.job is not None:
            return JobEvent(
                FINISHED,
                self.job_id,
                step.message,
                job_status=step.job.status.value,
                error=step.job.error,
                status_calls=watch.calls,
                seen_at=now_iso(),
                unfinished_at=watch.unfinished_at,
                job_created_at=step.job.created_at.isoformat(),
                status_limit=None if status_limit is None else status_limit.to_json(),
            )
        if step.next is Next.FAIL:
            return JobEvent(ERROR, self.job_id, step.message, status_calls=watch.calls)
        return JobEvent(TIMEOUT, self.job_id, step.message, job_status=watch.status, status_calls=watch.calls)
