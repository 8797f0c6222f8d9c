"""``XComplianceJobSensor``: wait until a compliance job is complete; deferrable by default
when ``[operators] default_deferrable`` is on, in which case no worker is held while waiting.
Its last log line and its ``wait_report`` XCom say how long X took and how many status calls
the wait made."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import cached_property
from typing import Any

from airflow.providers.common.compat.sdk import conf
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from x_compliance.hooks.jobs import ComplianceJob
from x_compliance.hooks.run_budget import RunPace, WaitPlan, plan_wait
from x_compliance.hooks.wait_report import REPORT_KEY, describe, wait_report
from x_compliance.hooks.watch import JobWatch
from x_compliance.operators.base import XComplianceConnectionMixin


class XComplianceJobSensor(XComplianceConnectionMixin, BaseSensorOperator):
    """Succeed when job ``job_id`` is ``complete``; fail with X's ``error`` when it ``failed``, and
    clearly when it ``expired`` or ``timeout`` passes. Pushes the job id to XCom, and under
    ``wait_report`` the status calls made and how long X took.

    :param job_id: the job to wait for.
    :param uploaded_at: when the upload ended (ISO 8601; the upload task's ``uploaded_at``), the
        start of X's processing time; default: the job's creation.
    :param ids: how many IDs the job has (the upload's ``ids``): with ``uploaded_at`` and
        ``pace``, when X is likely done, the time of the deferred wait's first status call.
    :param pace: X's pace over the run's earlier jobs (the submit's ``pace``,
        :class:`~x_compliance.hooks.run_budget.RunPace` as JSON); default: the prior.
    :param jobs_after: the run's jobs after this one (the submit's ``jobs_after``): the wait keeps
        the status calls they need from X's budget.
    :param status_limit: the job-status endpoint's rate-limit headers as the run's steps last saw
        them (the submit's ``status_limit``): the first call keeps within them.
    :param x_compliance_conn_id: Airflow connection of type ``x_compliance``.
    :param deferrable: hand the wait to the triggerer (``XComplianceJobTrigger``).
    :param max_poll_interval: longest pause, in seconds, between two status calls when deferred:
        the trigger's first pause is ``poke_interval`` and its pauses grow with the wait up to this
        (longer only when X's rate-limit headers leave no call before their reset). Not deferred,
        the sensor pokes every ``poke_interval`` as any sensor does, longer only when X's
        rate-limit headers or a 429 ask for it.
    """

    template_fields = ("job_id", "uploaded_at")

    def __init__(
        self,
        *,
        job_id: str,
        uploaded_at: str | None = None,
        ids: int | None = None,
        pace: dict[str, Any] | None = None,
        jobs_after: int = 0,
        status_limit: dict[str, Any] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_poll_interval: float = 900.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 30.0)
        super().__init__(**kwargs)
        self.job_id = job_id
        self.uploaded_at = uploaded_at
        self.ids = ids
        self.pace = pace
        self.jobs_after = jobs_after
        self.status_limit = status_limit
        self.last_job: ComplianceJob | None = None
        self.pause_asked = 0.0
        self.deferrable = deferrable
        self.max_poll_interval = max_poll_interval

    @cached_property
    def plan(self) -> WaitPlan:
        """The wait's place in its run: when X is likely done, how many jobs come after."""
        return plan_wait(
            ids=self.ids,
            uploaded_at=self.uploaded_at or None,
            pace=RunPace.from_json(self.pace),
            jobs_after=int(self.jobs_after or 0),
            status_limit=self.status_limit if isinstance(self.status_limit, dict) else None,
        )

    @cached_property
    def watch(self) -> JobWatch:
        """The rule every wait follows, at the pace of ``poke_interval``; no deadline of its own:
        the sensor's ``timeout`` decides when to stop, so an outage costs no task retry."""
        interval = float(self.poke_interval)
        return JobWatch(
            self.log, str(self.job_id), poll_interval=interval, max_poll_interval=interval, plan=self.plan
        )

    def poke(self, context: Any) -> PokeReturnValue:
        """One status call, judged by the watch: X unreachable (or busy) is not done yet."""
        self.hook.knows_status_limit(self.plan.status_limit)
        try:
            outcome: ComplianceJob | BaseException = self.hook.get_job(str(self.job_id), once=True)
        except Exception as exc:
            outcome = exc
        step = self.watch.after(outcome, self.hook.status_rate_limit)
        self.pause_asked = step.pause
        job = step.complete_job()
        if job is None:
            return PokeReturnValue(is_done=False)
        self.last_job = job
        return PokeReturnValue(is_done=True, xcom_value=job.id)

    def _get_next_poke_interval(self, *args: Any, **kwargs: Any) -> float:
        """Airflow's pause before the next poke, stretched to the watch's when X asks for more
        (its rate-limit headers leave no call sooner, or a 429 said how long to wait)."""
        return max(super()._get_next_poke_interval(*args, **kwargs), self.pause_asked)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            job_id = super().execute(context)
            self.report(context, status_calls=self.watch.calls)
            return job_id
        plan = self.plan
        if plan.is_due():  # one look first: no deferral for a job that is already done
            checked = self.poke(context)
            if checked.is_done:
                self.report(context, status_calls=self.watch.calls)
                return checked.xcom_value
            # The trigger's first call comes after the pause this look asked for, within the
            # headers it saw: not straight after it.
            limit = self.hook.status_rate_limit
            plan = replace(
                plan,
                first_call_at=time.time() + self.pause_asked,
                status_limit=None if limit is None else limit.to_json(),
            )
        self.defer_wait(
            str(self.job_id),
            poll_interval=float(self.poke_interval),
            max_poll_interval=self.max_poll_interval,
            deadline=time.time() + float(self.timeout),
            plan=plan.to_json(),
            method_name="execute_complete",
            kwargs={"status_calls": self.watch.calls},
        )

    def execute_complete(self, context: Any, event: Any = None, status_calls: int = 0) -> str:
        """The wait's event says all the report needs (no read of the job: the download makes
        the one read its signed URL needs)."""
        result = self.event_after_wait(event)
        self.log.info("X compliance job %s is complete (%s)", result.job_id, result.message)
        total = status_calls + (result.status_calls or 0)
        self.report(
            context,
            status_calls=total,
            completed_at=result.seen_at,
            job=(result.job_id, result.job_status, result.job_created_at),
            status_limit=result.status_limit,
        )
        return result.job_id

    def report(
        self,
        context: Any,
        *,
        status_calls: int,
        completed_at: str | None = None,
        job: tuple[str, str, str | None] | None = None,
        status_limit: dict[str, Any] | None = None,
    ) -> None:
        """Push the wait report and log it as the task's last line. ``job``: its id, status and
        creation time (default: the job the last poke saw)."""
        if job is None and self.last_job is not None:
            seen = self.last_job
            job = (seen.id, seen.status.value, seen.created_at.isoformat())
            limit = self.hook.status_rate_limit
            status_limit = None if limit is None else limit.to_json()
        job_id, status, created_at = job
        report = wait_report(
            job_id,
            status,
            created_at=created_at,
            status_calls=status_calls,
            uploaded_at=self.uploaded_at or None,
            completed_at=completed_at,
            status_limit=status_limit,
        )
        context["ti"].xcom_push(key=REPORT_KEY, value=report)
        self.log.info("%s", describe(report))
