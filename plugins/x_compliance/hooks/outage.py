"""How a wait on a job rides out X being unreachable: back off and try again until the wait's own
deadline, saying once when X went away and once when it is back.

A wait lasts hours; a network blip, a DNS hiccup, a 5xx or a 429 in the middle of it is no
reason to end it (or to spend a task retry). The deferred wait (the trigger), the sensor's poke
and the all-in-one operator's blocking wait all use :class:`Outage`. Create, upload and download
keep the hook's bounded retries instead: those fail clearly, and a retry of the task resumes.
"""

from __future__ import annotations

import logging
import random
import time

from x_compliance.exceptions import RateLimitedError, XComplianceError
from x_compliance.hooks.retry import is_retryable

__all__ = ["Outage", "is_retryable"]


class Outage:
    """The state of X's reachability during one wait.

    :param log: where the two lines go (the trigger's, sensor's or step's logger).
    :param job_id: named in both lines.
    :param backoff: first pause after a failed status call, in seconds; doubles each time.
    :param max_backoff: longest pause between two attempts while X is unreachable.
    """

    def __init__(self, log: logging.Logger, job_id: str, *, backoff: float, max_backoff: float) -> None:
        self.log = log
        self.job_id = job_id
        self.backoff = max(backoff, 0.1)
        self.max_backoff = max(max_backoff, self.backoff)
        self.failures = 0
        self.since: float | None = None

    def failed(self, exc: BaseException) -> float:
        """Note a transient failure; return how long to pause before the next status call."""
        if isinstance(exc, RateLimitedError):  # reachable, only busy: wait for X's window
            self.log.info(
                "X rate-limited the status call of job %s; next in %.0fs", self.job_id, exc.wait_seconds
            )
            return exc.wait_seconds + 1.0
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning(
                "X is unreachable while waiting on job %s (%s); still waiting, retrying with backoff "
                "until the wait's deadline",
                self.job_id,
                describe(exc),
            )
        pause = min(self.max_backoff, self.backoff * 2 ** min(self.failures - 1, 16))
        return pause * random.uniform(0.8, 1.0)

    def reachable(self) -> None:
        """Note a status call that got through; log once if X had been unreachable."""
        if self.since is not None:
            self.log.info(
                "X is reachable again for job %s after %.0fs unreachable (%d failed status calls)",
                self.job_id,
                time.monotonic() - self.since,
                self.failures,
            )
        self.since, self.failures = None, 0

    def describe_for_timeout(self) -> str:
        if self.since is None:
            return ""
        return f"; X had been unreachable for {time.monotonic() - self.since:.0f}s"


def describe(exc: BaseException) -> str:
    """A transport error without its message (which may quote a URL): our own errors in full."""
    return str(exc) if isinstance(exc, XComplianceError) else type(exc).__name__
