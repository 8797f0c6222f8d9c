"""What the waits of one run share: X's pace over the run's earlier jobs, and each wait's plan
(when X is likely done with its job, and how many of the run's jobs still come after it).

A run's jobs follow one another (X allows one active job per type) and their status calls all
come out of one rate-limit budget, so each wait is planned from what the run has seen so far
rather than from scratch. Both travel as plain JSON: in XComs, and in the trigger's kwargs.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from x_compliance.hooks.jobs import parse_timestamp

# X's pace assumed before any job of the run was measured: X at its fastest, the emulator with
# no modelled processing time (it reads about 5M IDs a second). X documents no pace; a slower
# prior (the emulator's default model of 2 s per million) would make the first call of a fast
# job late, and every later job of the run would then be planned from that late measurement.
# Too fast only costs calls: the pauses after a first call that came early grow with the wait.
PRIOR_IDS_PER_SECOND = 5_000_000.0
# A job seen complete at its wait's first call took at most that long, maybe much less: it is
# counted this share shorter, so that the next job's first call comes a little earlier and finds
# X's pace again instead of keeping a first call that came late.
UPPER_BOUND_DISCOUNT = 0.1


@dataclass(frozen=True)
class RunPace:
    """How long X took on the run's earlier jobs: their IDs and seconds from upload to complete
    (each an upper bound, within the wait's last pause)."""

    ids: int = 0
    seconds: float = 0.0

    def ids_per_second(self) -> float:
        """The run's measured pace, or the prior before any job of the run was measured."""
        if self.ids <= 0 or self.seconds <= 0:
            return PRIOR_IDS_PER_SECOND
        return self.ids / self.seconds

    def likely_seconds(self, ids: int | None) -> float:
        """How long X likely takes on a job of ``ids`` IDs at this pace (0 when unknown)."""
        return (ids or 0) / self.ids_per_second()

    def plus(self, ids: int | None, seconds: float | None) -> RunPace:
        """The pace once one more job is measured; unchanged when either figure is unknown."""
        if not ids or seconds is None or seconds <= 0:
            return self
        return RunPace(self.ids + ids, self.seconds + seconds)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> RunPace:
        """Read a pace from an XCom; anything unreadable is no pace at all (the prior)."""
        if not isinstance(value, dict):
            return cls()
        try:
            return cls(int(value.get("ids") or 0), float(value.get("seconds") or 0.0))
        except (TypeError, ValueError):
            return cls()


@dataclass(frozen=True)
class WaitPlan:
    """One wait's place in its run, as the pacing (:mod:`x_compliance.hooks.pacing`) reads it.

    :param since: when X got the IDs (epoch seconds; the upload's end): the wait counts from it.
    :param first_call_at: when X is likely done (epoch seconds): no status call before.
    :param job_seconds: how long X likely takes on this job: how soon later jobs come.
    :param jobs_after: the run's jobs still to come after this one, whose waits share X's budget.
    :param status_limit: the job-status endpoint's headers as last seen by the run's steps
        (:meth:`~x_compliance.hooks.responses.RateLimit.to_json`): the first call keeps within them.
    """

    since: float | None = None
    first_call_at: float | None = None
    job_seconds: float = 0.0
    jobs_after: int = 0
    status_limit: dict[str, Any] | None = None

    def is_due(self) -> bool:
        """Whether X is likely done by now: a look at the job is worth its call."""
        return self.first_call_at is None or self.first_call_at <= time.time()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> WaitPlan | None:
        """The plan a trigger was given (``None``: none, a wait planned from its first call)."""
        return None if value is None else cls(**value)


def plan_wait(
    *,
    ids: int | None,
    uploaded_at: str | None,
    pace: RunPace,
    jobs_after: int = 0,
    status_limit: dict[str, Any] | None = None,
) -> WaitPlan:
    """The plan of a wait on a job of ``ids`` IDs uploaded at ``uploaded_at`` (ISO; ``None``
    when unknown: then the first call comes at once), after jobs that went at ``pace``, with the
    status endpoint's headers as last seen (``status_limit``)."""
    seconds = pace.likely_seconds(ids)
    jobs_after = max(jobs_after, 0)
    if not uploaded_at:
        return WaitPlan(job_seconds=seconds, jobs_after=jobs_after, status_limit=status_limit)
    since = parse_timestamp(uploaded_at).timestamp()
    return WaitPlan(since, since + seconds, seconds, jobs_after, status_limit)


def measured_seconds(
    uploaded_at: str | None, seen_at: str | None, unfinished_at: str | None = None
) -> float | None:
    """X's time on a job, from its upload's end: between the last status call that saw it
    unfinished (``unfinished_at``) and the one that saw it complete (``seen_at``), the middle;
    with only the upper bound, that bound less ``UPPER_BOUND_DISCOUNT``."""
    if not uploaded_at or not seen_at:
        return None
    uploaded = parse_timestamp(uploaded_at)
    upper = (parse_timestamp(seen_at) - uploaded).total_seconds()
    if not unfinished_at:
        return upper * (1 - UPPER_BOUND_DISCOUNT)
    lower = max((parse_timestamp(unfinished_at) - uploaded).total_seconds(), 0.0)
    return (lower + upper) / 2
