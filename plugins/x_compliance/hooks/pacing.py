"""How long a poller should wait before its next status call: short at first, growing with the
wait, and never shorter than X's rate-limit headers allow.

A pause is a tenth of the time already waited, so a job is noticed within about 10% of the time
it took (and within the floor for a job that finishes at once), while a long wait costs few calls:
pauses grow 10% a call once the wait passes ten floors. The headers bound it from below: the calls
left in the window must last until it resets even if every later pause only doubled.

- ``pro`` tier (150 GETs / 15 min): pauses of 1 s at first (the default floor), 58 calls in the
  first 15 minutes of a wait, where an even spread of the calls left made about 150 (one every 6 s).
- ``basic`` tier (5 / 15 min): a first pause of about 128 s (the even spread's was 300 s), then
  257 s, then a wait for the reset.

Neither ever calls with no calls left, so neither runs into a 429 of its own making.

A wait is one of its run's (:class:`~x_compliance.hooks.run_budget.WaitPlan`): its first status
call comes when X is likely done, its pauses count from the upload, and the calls the run's later
jobs need before the reset are kept for them (:func:`calls_to_keep`), so no wait spends the
window as if it were alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from x_compliance.hooks.responses import RateLimit
from x_compliance.hooks.run_budget import WaitPlan

# A second of slack past X's reset time: clocks and windows are never exactly aligned.
RESET_SLACK_SECONDS = 1.0
# The wanted pause as a share of the time already waited: a job is noticed within about this
# share of the time it took.
NOTICE_SHARE = 0.1
# 2**50 pauses of doubling length outlast any window: a larger exponent only risks an overflow.
MAX_DOUBLINGS = 50
# The status-endpoint calls each later job of a run needs at least: the upload's and the
# download's look at the job, the wait task's first look, and one status call of its wait.
CALLS_PER_LATER_JOB = 4


def next_poll_delay(
    rate_limit: RateLimit | None, *, waited: float, floor: float, ceiling: float, keep: int = 0
) -> float:
    """Seconds to wait before the next status call of a poller that has waited ``waited`` seconds
    since its start (the upload when known, else its first call).

    The pause wanted is ``NOTICE_SHARE * waited``, between ``floor`` and ``ceiling``: short while
    the job may be about to finish, longer as it clearly is not. X's headers (``rate_limit``, the
    last response's; ``None`` when it had none) set the budget pause, which wins over both:

    - the shortest pause after which the calls left, less one kept in hand for whoever else
      shares the app's budget (a retry, another task) and less ``keep`` for the run's later jobs
      (:func:`calls_to_keep`), last until the window resets even if each later pause is only
      twice the one before: ``to_reset / (2**spendable - 1)``;
    - with no call to spend, the time to the reset.

    The budget wins over ``ceiling`` too: a call made with none left is a 429.
    """
    ceiling = max(ceiling, floor)
    wanted = min(max(NOTICE_SHARE * max(waited, 0.0), floor), ceiling)
    return max(wanted, budget_pause(rate_limit, keep), 0.0)


def budget_pause(rate_limit: RateLimit | None, keep: int = 0) -> float:
    """The shortest pause X's rate-limit headers leave (see :func:`next_poll_delay`); 0 without them."""
    if rate_limit is None:
        return 0.0
    to_reset = rate_limit.seconds_to_reset + RESET_SLACK_SECONDS
    spendable = rate_limit.remaining - 1 - keep
    if spendable <= 0:
        return to_reset
    return to_reset / (2.0 ** min(spendable, MAX_DOUBLINGS) - 1)


def calls_to_keep(rate_limit: RateLimit | None, *, jobs_after: int, job_seconds: float) -> int:
    """The calls of the current window a wait leaves to its run's later jobs: ``CALLS_PER_LATER_JOB``
    for each that can come before the reset, one every ``job_seconds`` (all of them when that is
    unknown). Never more than half the calls left: the job waited on goes first, as no later job
    can start before it ends."""
    if rate_limit is None or jobs_after <= 0:
        return 0
    if job_seconds > 0:
        jobs_after = min(jobs_after, math.ceil(rate_limit.seconds_to_reset / job_seconds))
    return min(CALLS_PER_LATER_JOB * jobs_after, max(rate_limit.remaining - 1, 0) // 2)


def monotonic_since(epoch: float | None) -> float:
    """``time.monotonic()`` as it was at wall-clock ``epoch`` (now when ``None``)."""
    now = time.monotonic()
    return now if epoch is None else now - max(time.time() - epoch, 0.0)


@dataclass(frozen=True)
class Pacing:
    """The pauses of one wait: :func:`next_poll_delay` over the time waited since ``started``
    (``time.monotonic()``), and never past ``deadline`` (wall-clock epoch seconds; ``None``: none).
    ``plan`` places the wait in its run: its first call, and the calls kept for later jobs.
    """

    floor: float
    ceiling: float
    deadline: float | None = None
    started: float = field(default_factory=time.monotonic)
    plan: WaitPlan = field(default_factory=WaitPlan)

    def time_left(self) -> float:
        """Seconds until the deadline (negative once it passed; infinite without one)."""
        return math.inf if self.deadline is None else self.deadline - time.time()

    def first_pause(self) -> float:
        """The pause before the first status call: until X is likely done, and until the window
        resets when the status headers last seen (the plan's) leave no call to spend; within the
        deadline."""
        until_done = 0.0 if self.plan.first_call_at is None else self.plan.first_call_at - time.time()
        known = RateLimit.from_json(self.plan.status_limit)
        keep = calls_to_keep(known, jobs_after=self.plan.jobs_after, job_seconds=self.plan.job_seconds)
        until_reset = 0.0
        if known is not None and known.remaining - 1 - keep <= 0:
            until_reset = known.seconds_to_reset + RESET_SLACK_SECONDS
        return max(min(max(until_done, until_reset), self.time_left()), 0.0)

    def next_pause(self, rate_limit: RateLimit | None) -> float:
        """The pause before the next status call, given the last response's headers."""
        waited = time.monotonic() - self.started
        # A later job likely takes as long as this one: as X's pace said, or as it has taken so far.
        job_seconds = max(self.plan.job_seconds, waited)
        keep = calls_to_keep(rate_limit, jobs_after=self.plan.jobs_after, job_seconds=job_seconds)
        pause = next_poll_delay(rate_limit, waited=waited, floor=self.floor, ceiling=self.ceiling, keep=keep)
        return max(min(pause, self.time_left()), 0.0)
