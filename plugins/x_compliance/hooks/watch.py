"""The one rule of every wait on a compliance job: after each status call, what to do next.

The deferred wait (the trigger), the all-in-one operator's blocking wait and the sensor's poke
each hand the outcome of a status call (the job X returned, or the error the call raised) to a
:class:`JobWatch` and do what its :class:`Step` says: stop with the terminal job, fail, give up
at the deadline, or pause and call again.

A wait lasts hours: a network blip, a DNS hiccup, a 5xx or a 429 in the middle of it is no reason
to end it (or to spend a task retry). The watch backs off and keeps waiting until the wait's own
deadline, saying once when X went away and once when it is back. Create, upload and download keep
the hook's bounded retries instead: those fail clearly, and a retry of the task resumes.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from enum import StrEnum

from x_compliance.exceptions import RateLimitedError, WaitTimeoutError
from x_compliance.hooks.jobs import ComplianceJob
from x_compliance.hooks.pacing import Pacing, monotonic_since
from x_compliance.hooks.responses import RateLimit
from x_compliance.hooks.retry import error_text, is_retryable
from x_compliance.hooks.run_budget import WaitPlan
from x_compliance.hooks.wait_report import now_iso

NO_STATUS = "unknown"  # the last status of a wait whose status calls X never answered
# Shortest first backoff while X is unreachable, whatever the poll interval.
MIN_BACKOFF = 0.1
# The backoff doubles at most this many times (2**16 first backoffs outlast any ceiling).
MAX_BACKOFF_DOUBLINGS = 16


class Next(StrEnum):
    """What a wait does after one status call."""

    DONE = "done"  # the job is terminal (complete, failed or expired): `Step.job`
    FAIL = "fail"  # the call failed in a way no later call can fix: `Step.error`
    GIVE_UP = "give_up"  # the wait's deadline passed first
    PAUSE = "pause"  # call again in `Step.pause` seconds


@dataclass(frozen=True)
class Step:
    """The watch's answer to one status call; ``message`` tells it (the terminal job and the
    calls made, the error by :func:`~x_compliance.hooks.retry.error_text`, or why the wait gave up)."""

    next: Next
    message: str = ""
    job: ComplianceJob | None = None
    error: BaseException | None = None
    pause: float = 0.0

    def complete_job(self) -> ComplianceJob | None:
        """For the waits that raise rather than report (the blocking wait, the sensor's poke): the
        job once it is complete, ``None`` while it is not terminal yet. Raises the job's failure or
        expiry, the status call's error, or ``WaitTimeoutError`` when the deadline passed."""
        if self.error is not None:
            raise self.error
        if self.next is Next.GIVE_UP:
            raise WaitTimeoutError(self.message)
        if self.next is Next.DONE and self.job is not None:
            return self.job.raise_for_status()
        return None


class JobWatch:
    """One wait on one job: its status calls, X's reachability, and the step after each call.

    :param log: where the wait's lines go (the trigger's, sensor's or operator's logger).
    :param job_id: the job waited on, named in every line.
    :param poll_interval: the first pause between status calls, in seconds; pauses grow with the
        wait (:func:`~x_compliance.hooks.pacing.next_poll_delay`). Also the first backoff while X
        is unreachable; the backoff doubles after each failed call.
    :param max_poll_interval: the longest pause, unless X's rate-limit headers leave no call
        before their reset or a 429 says how long to wait.
    :param deadline: wall-clock epoch seconds after which the wait gives up; ``None``: never
        (a sensor's own timeout decides).
    :param plan: the wait's place in its run: no status call before X is likely done, pauses
        counted from the upload, calls kept for the run's later jobs. ``None``: a wait on its own,
        from its first call.
    """

    def __init__(
        self,
        log: logging.Logger,
        job_id: str,
        *,
        poll_interval: float,
        max_poll_interval: float,
        deadline: float | None = None,
        plan: WaitPlan | None = None,
    ) -> None:
        self.log = log
        self.job_id = job_id
        plan = plan or WaitPlan()
        self.pacing = Pacing(
            floor=poll_interval,
            ceiling=max_poll_interval,
            deadline=deadline,
            started=monotonic_since(plan.since),
            plan=plan,
        )
        self.backoff = max(poll_interval, MIN_BACKOFF)
        self.max_backoff = max(max_poll_interval, self.backoff)
        self.calls = 0
        self.status = NO_STATUS  # what X said of the job last
        self.unfinished_at: str | None = None  # when a status call last saw it unfinished (ISO)
        self.failures = 0  # failed status calls since X was last reachable
        self.unreachable_since: float | None = None

    def first_pause(self) -> float:
        """The pause before the wait's first status call: until X is likely done, or until the
        window resets when the run's last known status headers leave no call (said once)."""
        pause = self.pacing.first_pause()
        if pause > 0:
            self.log.info(
                "First status call of X compliance job %s in %.0fs (when X is likely done, at its "
                "run's pace, and within the run's status-call budget)",
                self.job_id,
                pause,
            )
        return pause

    def after(self, outcome: ComplianceJob | BaseException, rate_limit: RateLimit | None) -> Step:
        """The step after one status call: ``outcome`` is the job it returned or the error it
        raised, ``rate_limit`` the headers of its response (``None`` without)."""
        self.calls += 1
        if isinstance(outcome, BaseException):
            if not is_retryable(outcome):
                return Step(Next.FAIL, error_text(outcome), error=outcome)
            return self._pause(self._failed(outcome))
        self._reachable()
        self.status = outcome.status.value
        if outcome.status.is_terminal():
            message = f"{outcome.describe()} after {self.calls} status call(s)"
            self.log.info("%s", message)
            return Step(Next.DONE, message, job=outcome)
        self.unfinished_at = now_iso()
        step = self._pause(self.pacing.next_pause(rate_limit))
        if step.next is Next.PAUSE:
            budget = (
                f"; {rate_limit.remaining}/{rate_limit.limit} calls left in this window" if rate_limit else ""
            )
            self.log.info(
                "X compliance job %s is %s; next check in %.0fs%s",
                self.job_id,
                self.status,
                step.pause,
                budget,
            )
        return step

    def _pause(self, pause: float) -> Step:
        """Pause before the next call, within the deadline; give up once it passed."""
        left = self.pacing.time_left()
        if left <= 0:
            return Step(Next.GIVE_UP, self._gave_up())
        return Step(Next.PAUSE, pause=min(pause, left))

    def _failed(self, exc: BaseException) -> float:
        """Note a status call that time can fix; return the pause before the next one."""
        if isinstance(exc, RateLimitedError):  # reachable, only busy: wait for X's window
            self.log.info(
                "X rate-limited the status call of job %s; next in %.0fs", self.job_id, exc.wait_seconds
            )
            return exc.wait_seconds + 1.0
        self.failures += 1
        if self.unreachable_since is None:
            self.unreachable_since = time.monotonic()
            self.log.warning(
                "X is unreachable while waiting on job %s (%s); still waiting, retrying with backoff "
                "until the wait's deadline",
                self.job_id,
                error_text(exc),
            )
        pause = min(self.max_backoff, self.backoff * 2 ** min(self.failures - 1, MAX_BACKOFF_DOUBLINGS))
        return pause * random.uniform(0.8, 1.0)

    def _reachable(self) -> None:
        """Note a status call X answered; say so once if X had been unreachable."""
        if self.unreachable_since is not None:
            self.log.info(
                "X is reachable again for job %s after %.0fs unreachable (%d failed status calls)",
                self.job_id,
                time.monotonic() - self.unreachable_since,
                self.failures,
            )
        self.unreachable_since, self.failures = None, 0

    def _gave_up(self) -> str:
        outage = ""
        if self.unreachable_since is not None:
            outage = f"; X had been unreachable for {time.monotonic() - self.unreachable_since:.0f}s"
        return (
            f"Gave up waiting on X compliance job {self.job_id}: still {self.status} at the deadline, "
            f"after {self.calls} status call(s){outage}"
        )
