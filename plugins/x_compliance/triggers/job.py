"""``XComplianceJobTrigger``: waits in the triggerer until a compliance job is terminal.

Serialized with only JSON values (connection id, job id, intervals, deadline): never a token,
never a signed URL. The connection is read inside ``run()``. Polling is paced by X's own
rate-limit headers (:mod:`x_compliance.hooks.pacing`); while X is unreachable the trigger backs off
and keeps waiting until its deadline (:mod:`x_compliance.hooks.outage`), so no raw error escapes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from x_compliance.exceptions import XComplianceError
from x_compliance.hooks.outage import Outage, is_retryable
from x_compliance.hooks.pacing import next_poll_delay
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.triggers.events import ERROR, FINISHED, TIMEOUT, JobEvent
from x_compliance.triggers.wait_report import now_iso


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
    """

    def __init__(
        self,
        job_id: str,
        x_compliance_conn_id: str = XComplianceHook.default_conn_name,
        poll_interval: float = 1.0,
        max_poll_interval: float = 900.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.x_compliance_conn_id = x_compliance_conn_id
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "x_compliance_conn_id": self.x_compliance_conn_id,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "deadline": self.deadline,
            },
        )

    def _event(self, status: str, message: str, **fields: Any) -> TriggerEvent:
        return TriggerEvent(
            JobEvent(status=status, job_id=self.job_id, message=message, **fields).to_payload()
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = XComplianceHook(self.x_compliance_conn_id)
        outage = Outage(self.log, self.job_id, backoff=self.poll_interval, max_backoff=self.max_poll_interval)
        polls, status = 0, "unknown"
        # The wait starts with the first status call (a triggerer that takes the trigger over
        # starts it again: short pauses first, still within X's budget).
        started = time.monotonic()
        while True:
            try:
                job = await hook.aget_job(self.job_id, once=True)
            except Exception as exc:
                if not is_retryable(exc):
                    # Our errors in full; anything else by its class only (it may quote a URL).
                    message = (
                        str(exc) if isinstance(exc, XComplianceError) else f"{type(exc).__name__} from X"
                    )
                    yield self._event(ERROR, message, status_calls=polls)
                    return
                delay, answered = outage.failed(exc), False
            else:
                outage.reachable()
                polls, status, answered = polls + 1, job.status.value, True
                if job.status.is_terminal():
                    message = f"{job.describe()} after {polls} status call(s)"
                    self.log.info("X compliance job %s is %s", self.job_id, job.status.value)
                    yield self._event(
                        FINISHED,
                        message,
                        job_status=job.status.value,
                        error=job.error,
                        status_calls=polls,
                        seen_at=now_iso(),
                    )
                    return
                delay = next_poll_delay(
                    hook.last_rate_limit,
                    waited=time.monotonic() - started,
                    floor=self.poll_interval,
                    ceiling=self.max_poll_interval,
                )
            if self.deadline is not None:
                left = self.deadline - time.time()
                if left <= 0:
                    yield self._event(
                        TIMEOUT,
                        f"Gave up waiting on X compliance job {self.job_id}: still {status} "
                        f"at the deadline, after {polls} status call(s){outage.describe_for_timeout()}",
                        job_status=status,
                        status_calls=polls,
                    )
                    return
                delay = min(delay, left)
            if answered:
                limit = hook.last_rate_limit
                budget = f"; {limit.remaining}/{limit.limit} calls left in this window" if limit else ""
                self.log.info(
                    "X compliance job %s is %s; next check in %.0fs%s",
                    self.job_id,
                    status,
                    delay,
                    budget,
                )
            await asyncio.sleep(delay)
