"""One rate-limit budget for a run's jobs: X's pace over the earlier jobs, each wait's plan, the
calls kept for later jobs; by their numbers, then K jobs in a row on the emulator over HTTP."""

from __future__ import annotations

import json
import time

import pytest

from tests.provider.conftest import status_count
from tests.provider.runner import first_event
from x_compliance.hooks.pacing import RESET_SLACK_SECONDS, Pacing, budget_pause, calls_to_keep
from x_compliance.hooks.responses import RateLimit
from x_compliance.hooks.run_budget import RunPace, WaitPlan, measured_seconds, plan_wait
from x_compliance.hooks.wait_report import now_iso
from x_compliance.operators.steps import upload_ids
from x_compliance.triggers.events import JobEvent
from x_compliance.triggers.job import XComplianceJobTrigger


def _limit(remaining: int, to_reset: float, limit: int = 150) -> RateLimit:
    return RateLimit(limit=limit, remaining=remaining, reset_epoch=1000 + to_reset, server_epoch=1000)


def test_pace_starts_at_the_prior_and_learns_from_each_job():
    assert RunPace().likely_seconds(5_000_000) == pytest.approx(1.0)  # the prior: X at its fastest
    assert RunPace().likely_seconds(None) == 0.0
    pace = RunPace().plus(5_000_000, 12.5).plus(3_000_000, 7.5)
    assert pace.ids_per_second() == 400_000
    assert pace.likely_seconds(2_000_000) == pytest.approx(5.0)
    assert pace.plus(None, 3.0) == pace and pace.plus(1000, None) == pace  # unknown: unchanged
    assert RunPace.from_json(pace.to_json()) == pace
    assert RunPace.from_json(None) == RunPace.from_json({"ids": "x"}) == RunPace()


def test_a_plan_calls_first_when_x_is_likely_done():
    pace = RunPace(4_000_000, 10.0)  # 400k IDs/s
    plan = plan_wait(ids=1_000_000, uploaded_at="2026-01-01T00:00:00.000+00:00", pace=pace, jobs_after=3)
    assert plan.since == 1_767_225_600.0
    assert plan.first_call_at == plan.since + 2.5 and plan.job_seconds == 2.5 and plan.jobs_after == 3
    assert WaitPlan.from_json(plan.to_json()) == plan
    unknown = plan_wait(ids=1_000_000, uploaded_at=None, pace=pace)  # a retry that uploaded nothing
    assert unknown.first_call_at is None and unknown.is_due()


@pytest.mark.parametrize(
    ("unfinished", "seen", "expected"),
    [
        ("00:00:08", "00:00:12", 10.0),  # seen unfinished at 8 s, complete at 12 s: the middle
        (None, "00:00:10", 9.0),  # complete at the first call: an upper bound, a tenth less
    ],
)
def test_measured_seconds(unfinished, seen, expected):
    day = "2026-01-01T"
    at = (day + unfinished + "+00:00") if unfinished else None
    assert measured_seconds(day + "00:00:00+00:00", day + seen + "+00:00", at) == expected
    assert measured_seconds(None, day + seen + "+00:00") is None


@pytest.mark.parametrize(
    ("remaining", "to_reset", "jobs_after", "job_seconds", "expected"),
    [
        (149, 900, 0, 10, 0),  # the run's last job: nothing to keep
        (149, 900, 15, 10, 15 * 4),  # pro, 15 short jobs to come: 4 calls each
        (149, 900, 19, 10, 74),  # 19 of them would take 76: half the calls left at most
        (149, 900, 19, 300, 3 * 4),  # jobs of 5 minutes: 3 come before the reset
        (149, 900, 19, 3600, 4),  # jobs longer than the window: the next one only
        (149, 900, 15, 0, 15 * 4),  # their length unknown: all of them
        (20, 300, 19, 10, 9),  # the job waited on goes first: no later job starts before it ends
        (4, 900, 4, 10, 1),  # basic
        (None, 0, 19, 10, 0),  # no headers: nothing to count from
    ],
)
def test_calls_kept_for_later_jobs(remaining, to_reset, jobs_after, job_seconds, expected):
    limit = None if remaining is None else _limit(remaining, to_reset)
    assert calls_to_keep(limit, jobs_after=jobs_after, job_seconds=job_seconds) == expected


def test_kept_calls_stretch_the_budget_pause():
    # 20 left, 4 kept: 15 to spend, so the pause is ~0; 9 kept (19 later jobs): 10 to spend
    assert budget_pause(_limit(20, 300), keep=9) == pytest.approx(301 / (2**10 - 1))
    # basic, 4 left, 1 kept: 2 to spend before the reset, where alone it had 3
    assert budget_pause(_limit(4, 900, limit=5), keep=1) == pytest.approx(901 / 3)
    assert budget_pause(_limit(4, 900, limit=5)) == pytest.approx(901 / 7)
    assert budget_pause(_limit(5, 60, limit=5), keep=4) == 60 + RESET_SLACK_SECONDS  # none to spend


async def _run_of_jobs(hook, id_file, *, jobs: int, ids: int, planned: bool) -> list[dict]:
    """``jobs`` jobs in a row as the example DAG runs them: create, upload, then the trigger waits
    (planned from the run's pace so far, or on its own); what each wait saw."""
    pace, seen = RunPace(), []
    for k in range(jobs):
        job = hook.create_job("tweets")
        upload_ids(hook, job, id_file(ids, name=f"ids-{k}.txt"))
        uploaded_at, uploaded = now_iso(), time.monotonic()
        plan = plan_wait(ids=ids, uploaded_at=uploaded_at, pace=pace, jobs_after=jobs - 1 - k)
        trigger = XComplianceJobTrigger(job.id, poll_interval=0.05, plan=plan.to_json() if planned else None)
        event = JobEvent.from_payload((await first_event(trigger)).payload)
        assert event.job_status == "complete"
        seen.append({"calls": event.status_calls, "noticed": time.monotonic() - uploaded, "plan": plan})
        pace = pace.plus(ids, measured_seconds(uploaded_at, event.seen_at, event.unfinished_at))
    return seen


async def test_a_run_of_jobs_shares_a_basic_window(hook, emulator, id_file):
    """Basic tier, 5 status calls per 6 s window, four jobs of 1.5 s: no 429, no wait sleeps out a
    whole window, and once the run knows X's pace its later jobs spend at most 5 calls in all (so
    at least one is seen with its first call: three waits on their own would spend 3 each)."""
    config = emulator.emulator.config
    config.tier, config.rate_limit_window_seconds = "basic", 6.0
    config.processing_seconds_base, config.processing_seconds_per_million = 0.0, 1500.0  # 1,000 IDs: 1.5 s
    seen = await _run_of_jobs(hook, id_file, jobs=4, ids=1000, planned=True)
    assert status_count(emulator, "get", 429) == 0
    first, *later = seen
    assert first["calls"] >= 2  # the prior (X at its fastest) called early
    for job in later:
        assert 1.0 < job["plan"].job_seconds < 3.0  # the pace the run measured, within a pause
        assert job["noticed"] < 1.5 + 6.0, job  # none slept out a whole window
    assert sum(job["calls"] for job in later) <= 5, later  # where the waits alone would have spent 3 each


async def test_planned_waits_spend_fewer_calls_than_waits_on_their_own(hook, emulator, id_file):
    """Pro tier, jobs of 2 s: planned, a later job's first call comes when it is likely done;
    on its own, a wait calls every 0.05 s floor until a tenth of its wait is longer."""
    config = emulator.emulator.config
    config.processing_seconds_base, config.processing_seconds_per_million = 0.0, 2000.0  # 1,000 IDs: 2 s
    planned = await _run_of_jobs(hook, id_file, jobs=3, ids=1000, planned=True)
    alone = await _run_of_jobs(hook, id_file, jobs=3, ids=1000, planned=False)
    assert status_count(emulator, "get", 429) == 0
    spent, alone_spent = (sum(job["calls"] for job in run[1:]) for run in (planned, alone))
    assert spent <= 3 * 3 and alone_spent >= 2 * 10 and alone_spent >= 3 * spent, (planned, alone)
    for job in planned[1:]:
        # the pace the run measured: from the moment the upload returned, which a busy machine
        # takes late, to the first call that saw the job done
        assert 1.0 < job["plan"].job_seconds < 3.0
        # seen soon after its end (a busy machine delays the calls themselves, never by seconds)
        assert job["noticed"] < 2.0 + 2.0, job


def test_a_planned_trigger_serializes_to_plain_json_and_back():
    plan = plan_wait(ids=5_000_000, uploaded_at=now_iso(), pace=RunPace(10_000_000, 20.0), jobs_after=4)
    trigger = XComplianceJobTrigger("1460323737035677698", deadline=1_900_000_000.0, plan=plan.to_json())
    classpath, kwargs = trigger.serialize()
    text = json.dumps(kwargs)  # raises if anything is not plain JSON
    assert kwargs["plan"] == plan.to_json() and "http" not in text
    assert XComplianceJobTrigger(**json.loads(text)).serialize() == (classpath, kwargs)
    assert WaitPlan.from_json(json.loads(text)["plan"]) == plan


def test_status_headers_travel_as_plain_json_on_this_machines_clock():
    seen = RateLimit(limit=5, remaining=2, reset_epoch=5000.0, server_epoch=4900.0)  # a skewed server
    as_json = seen.to_json()
    assert set(as_json) == {"limit", "remaining", "seen_at", "reset_in"} and as_json["reset_in"] == 100.0
    back = RateLimit.from_json(json.loads(json.dumps(as_json)))
    assert (back.limit, back.remaining) == (5, 2) and 99 < back.seconds_to_reset <= 100.01
    assert RateLimit.from_json({**as_json, "seen_at": time.time() - 101}) is None  # reset since
    assert RateLimit.from_json(None) is RateLimit.from_json({"limit": "x"}) is None


@pytest.mark.parametrize(
    ("remaining", "jobs_after", "waits"),
    [
        (1, 0, True),  # the last call in hand: the first call waits for the reset
        (0, 0, True),
        (2, 0, False),  # one to spend, one in hand
        (3, 4, False),  # one kept for the later jobs, one to spend
        (None, 4, False),  # nothing known: at once
    ],
)
def test_the_first_call_waits_for_the_reset_when_the_known_headers_leave_none(remaining, jobs_after, waits):
    known = None if remaining is None else _limit(remaining, 30.0, limit=5).to_json()
    plan = WaitPlan(first_call_at=time.time() - 1, jobs_after=jobs_after, status_limit=known)
    pause = Pacing(floor=1.0, ceiling=60.0, plan=plan).first_pause()
    assert (29 < pause <= 30.01 + RESET_SLACK_SECONDS) if waits else pause == 0.0


def test_a_call_the_known_headers_leave_no_room_for_waits_for_the_reset(hook, emulator, id_file):
    """Basic tier over HTTP: every status call of the window spent, the next waits for the reset
    instead of drawing a 429, also in a hook that only heard of the headers (from a wait's event)."""
    config = emulator.emulator.config
    config.tier, config.rate_limit_window_seconds = "basic", 2.0
    job = hook.create_job("tweets")
    for _ in range(5):
        hook.get_job(job.id)
    assert hook.status_rate_limit.remaining == 0 and hook.rate_limits["create"].remaining == 14
    other = type(hook)(max_attempts=1, timeout=10.0)  # a 429 would fail it at once
    other.knows_status_limit(hook.status_rate_limit.to_json())
    started = time.monotonic()
    assert other.get_job(job.id).id == job.id
    assert time.monotonic() - started >= 1.0 and status_count(emulator, "get", 429) == 0
