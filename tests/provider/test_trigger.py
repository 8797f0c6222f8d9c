"""XComplianceJobTrigger on the emulator's clock: complete, failed, expired, 429s, deadline, pacing;
the pacing rule itself, by its table and over simulated rate-limit windows."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import TOKEN
from tests.provider.conftest import status_count
from tests.provider.runner import first_event
from x_compliance.hooks import pacing
from x_compliance.hooks.pacing import RESET_SLACK_SECONDS, next_poll_delay
from x_compliance.hooks.responses import RateLimit
from x_compliance.operators.steps import upload_ids
from x_compliance.triggers.events import ERROR, FINISHED, TIMEOUT, JobEvent
from x_compliance.triggers.job import XComplianceJobTrigger
from x_compliance_emulator import Fault

CLASSPATH = "x_compliance.triggers.job.XComplianceJobTrigger"


def _trigger(job_id, **kw):
    return XComplianceJobTrigger(job_id=job_id, poll_interval=kw.pop("poll_interval", 0.05), **kw)


def test_serialize_round_trip_holds_only_json_and_no_secret(hook):
    job = hook.create_job("tweets")
    trigger = _trigger(job.id, deadline=1_900_000_000.0, max_poll_interval=120.0)
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    text = json.dumps(kwargs)  # raises if anything is not plain JSON
    assert TOKEN not in text and "X-Goog" not in text and "http" not in text
    clone = XComplianceJobTrigger(**json.loads(text))
    assert clone.serialize() == (classpath, kwargs)


def test_a_trigger_serialized_by_an_earlier_version_loads_and_serializes_the_same():
    """The triggerer rebuilds a deferred trigger from the kwargs stored when it was deferred,
    maybe by an earlier version of this provider: those exact kwargs must still load."""
    stored = {
        "job_id": "1460323737035677698",
        "x_compliance_conn_id": "x_compliance_default",
        "poll_interval": 5.0,
        "max_poll_interval": 900.0,
        "deadline": 1_900_000_000.0,
    }
    assert XComplianceJobTrigger(**stored).serialize() == (CLASSPATH, stored)
    assert XComplianceJobTrigger(job_id="1").serialize()[1] == {
        "job_id": "1",
        "x_compliance_conn_id": "x_compliance_default",
        "poll_interval": 1.0,
        "max_poll_interval": 900.0,
        "deadline": None,
    }


def test_classpath_imports_in_a_fresh_interpreter_started_from_root():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    module, _, name = CLASSPATH.rpartition(".")
    code = (
        f"import importlib; cls = getattr(importlib.import_module({module!r}), {name!r}); print(cls.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == name


async def test_complete(hook, emulator, id_file):
    job = hook.create_job("tweets")
    upload_ids(hook, job, id_file(100))
    emulator.emulator.clock.advance(60)
    event = JobEvent.from_payload((await first_event(_trigger(job.id))).payload)
    assert (event.status, event.job_status) == (FINISHED, "complete")
    event.raise_unless_complete()


async def test_failed_carries_x_error(hook, emulator, id_file):
    emulator.emulator.faults.add(Fault("fail_job", error="Could not parse file"))
    job = hook.create_job("tweets")
    upload_ids(hook, job, id_file(100))
    emulator.emulator.clock.advance(60)
    event = JobEvent.from_payload((await first_event(_trigger(job.id))).payload)
    assert (event.job_status, event.error) == ("failed", "Could not parse file")
    with pytest.raises(Exception, match="Could not parse file"):
        event.raise_unless_complete()


async def test_expired(hook, emulator):
    job = hook.create_job("users")
    emulator.emulator.clock.advance(16 * 60)
    event = JobEvent.from_payload((await first_event(_trigger(job.id))).payload)
    assert event.job_status == "expired"
    with pytest.raises(Exception, match="expired"):
        event.raise_unless_complete()


async def test_through_a_429_storm(hook, emulator, id_file):
    job = hook.create_job("tweets")
    upload_ids(hook, job, id_file(100))
    emulator.emulator.clock.advance(60)
    emulator.emulator.faults.add(Fault("http_429", target="get", count=3, body="problem"))
    event = JobEvent.from_payload((await first_event(_trigger(job.id))).payload)
    assert event.job_status == "complete"
    assert status_count(emulator, "get", 429) == 3


async def test_deadline(hook):
    job = hook.create_job("tweets")  # never uploaded: stays created
    event = JobEvent.from_payload((await first_event(_trigger(job.id, deadline=time.time() + 0.3))).payload)
    assert (event.status, event.job_status) == (TIMEOUT, "created")
    with pytest.raises(Exception, match="Gave up waiting"):
        event.raise_unless_complete()


async def test_unknown_job_is_an_error_event(hook):
    event = JobEvent.from_payload((await first_event(_trigger("1234567"))).payload)
    assert event.status == ERROR and "not found" in event.message


def _record_delays(monkeypatch) -> list[tuple[RateLimit | None, float, float]]:
    """Spy on the pacing rule every wait follows: (the headers it paced by, ``waited``, the pause
    it chose)."""
    seen = []

    def spy(rate_limit, **kw):
        delay = next_poll_delay(rate_limit, **kw)
        seen.append((rate_limit, kw["waited"], delay))
        return delay

    monkeypatch.setattr(pacing, "next_poll_delay", spy)
    return seen


def _even_spread(limit: RateLimit) -> float:
    """The pause of the former rule: the calls left, less one, spread over the time to the reset."""
    to_reset = limit.seconds_to_reset + RESET_SLACK_SECONDS
    return to_reset / (limit.remaining - 1) if limit.remaining > 1 else to_reset


async def test_a_quick_job_is_noticed_at_once(hook, emulator, id_file, monkeypatch):
    """A job X finishes in 1 s is seen about one floor later (pro tier: the even spread of 150
    calls over 15 minutes saw it after 6 s), with a handful of calls."""
    config = emulator.emulator.config
    config.processing_seconds_base, config.processing_seconds_per_million = 1.0, 0.0
    seen = _record_delays(monkeypatch)
    job = hook.create_job("tweets")
    upload_ids(hook, job, id_file(100))
    before, started = status_count(emulator, "get", 200), time.monotonic()
    event = JobEvent.from_payload((await first_event(XComplianceJobTrigger(job.id))).payload)  # defaults
    noticed = time.monotonic() - started
    assert event.job_status == "complete"
    assert noticed < 1.0 + 1.5, f"noticed after {noticed:.1f}s"
    assert 2 <= status_count(emulator, "get", 200) - before <= 5
    assert seen and seen[0][1] < 0.5  # the first pause was paced as the start of the wait


async def test_basic_tier_never_sees_a_429(hook, emulator, id_file, monkeypatch):
    """5 GETs per window: the trigger must pace itself by X's headers across several windows,
    and start with a pause well short of the even spread of the calls left."""
    config = emulator.emulator.config
    config.tier, config.rate_limit_window_seconds = "basic", 3.0
    config.processing_seconds_base, config.processing_seconds_per_million = 9.0, 0.0
    seen = _record_delays(monkeypatch)
    job = hook.create_job("tweets")
    upload_ids(hook, job, id_file(100))
    event = JobEvent.from_payload((await first_event(_trigger(job.id, poll_interval=0.01))).payload)
    assert event.job_status == "complete"
    assert status_count(emulator, "get", 429) == 0
    assert status_count(emulator, "get", 200) >= 6  # it did poll across more than one window
    first_limit, _, first_pause = seen[0]
    assert first_limit.remaining == first_limit.limit - 1 == 4
    # 3 of the 4 calls left, doubling, until the reset: 1/7 of it where the even spread took 1/3
    assert first_pause == pytest.approx((first_limit.seconds_to_reset + RESET_SLACK_SECONDS) / 7)
    assert first_pause < 0.5 * _even_spread(first_limit)


def _limit(remaining: int, to_reset: float, limit: int = 150) -> RateLimit:
    return RateLimit(limit=limit, remaining=remaining, reset_epoch=1000 + to_reset, server_epoch=1000)


@pytest.mark.parametrize(
    ("remaining", "to_reset", "waited", "expected"),
    [
        (149, 900, 0, 1),  # pro, first call: the floor
        (140, 840, 60, 6),  # pro, a minute in: a tenth of the wait
        (100, 500, 3600, 360),  # pro, an hour in
        (5, 300, 10, 301 / 15),  # pro, 4 calls to spend: 1 + 2 + 4 + 8 pauses of 20 s last 301 s
        (4, 900, 0, 901 / 7),  # basic, first call: 128 s (the even spread said 300 s)
        (3, 772, 129, 773 / 3),  # basic, second: 258 s
        (2, 514, 386, 515),  # basic: one call to spend, after the reset
        (1, 200, 700, 201),  # the last call of the window is kept: wait for the reset
        (0, 30, 5, 31),  # out of calls: wait until the reset
        (100, 0, 0, 1),  # the window is over: only the floor
        (10**6, 900, 0, 1),  # a huge budget: no overflow, the floor
        (149, 900, 10**6, 900),  # never past the ceiling while calls are left
    ],
)
def test_pacing(remaining, to_reset, waited, expected):
    delay = next_poll_delay(_limit(remaining, to_reset), waited=waited, floor=1, ceiling=900)
    assert delay == pytest.approx(expected, abs=0.01)


def test_pacing_budget_wins_over_the_ceiling_and_no_headers():
    # Out of calls for 4000 s: a call before the reset would be a 429, whatever the ceiling.
    assert next_poll_delay(_limit(0, 4000, limit=5), waited=0, floor=5, ceiling=900) == 4001
    assert next_poll_delay(_limit(1, 899, limit=5), waited=0, floor=1, ceiling=300) == 900
    # No headers: only the wait and the bounds.
    assert next_poll_delay(None, waited=0, floor=7, ceiling=900) == 7
    assert next_poll_delay(None, waited=200, floor=7, ceiling=900) == 20
    assert next_poll_delay(None, waited=10**6, floor=7, ceiling=900) == 900
    assert next_poll_delay(None, waited=0, floor=7, ceiling=3) == 7  # a floor above the ceiling wins


class _Window:
    """X's fixed rate-limit window for one endpoint, as the emulator counts it (reset in whole
    epoch seconds, rounded up; the Date header in whole seconds)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.start, self.used = -seconds, 0
        self.calls_per_window: list[int] = []

    def call(self, now: float) -> RateLimit:
        if now >= self.start + self.seconds:
            self.start, self.used = now, 0
            self.calls_per_window.append(0)
        assert self.used < self.limit, f"a call at {now:.1f}s with no call left: a 429"
        self.used += 1
        self.calls_per_window[-1] += 1
        return RateLimit(
            limit=self.limit,
            remaining=self.limit - self.used,
            reset_epoch=math.ceil(self.start + self.seconds),
            server_epoch=math.floor(now),
        )


def _simulate(limit: int, *, until: float, window: float = 900.0) -> tuple[list[float], list[int]]:
    """The times of the status calls of a wait on a job that never finishes (default floor and
    ceiling), and how many calls each rate-limit window saw."""
    x, now, calls = _Window(limit, window), 0.0, []
    while now < until:
        rate_limit = x.call(now)
        calls.append(now)
        now += next_poll_delay(rate_limit, waited=now, floor=1.0, ceiling=900.0)
    return calls, x.calls_per_window


def test_simulated_pro_wait_starts_at_the_floor_and_spends_a_fraction_of_the_budget():
    calls, per_window = _simulate(150, until=3 * 900)
    assert len([t for t in calls if t < 10]) == 10  # a call a second at first (the even spread: 2)
    assert per_window[0] == 58  # of 150 (the even spread: about 148)
    assert sum(per_window[1:]) < 30  # pauses of 90 s and more after 15 minutes


def test_simulated_basic_wait_never_runs_out_and_starts_well_before_the_even_spread():
    calls, per_window = _simulate(5, until=3 * 900)
    assert calls[1] == pytest.approx(901 / 7, abs=0.1)  # the even spread: 300 s
    assert calls[2] - calls[1] == pytest.approx((900 - calls[1] + 1) / 3, abs=1)
    # 3 of 5 a window: one call kept in hand, and the doubling's last call lands at the reset
    assert per_window == [3, 3, 3]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "complete",
        {"status": "finished"},
        {"status": "weird", "job_id": "1", "message": ""},
        {"status": "finished", "job_id": "1", "message": "", "job_status": "paused"},
        {"status": "finished", "job_id": "1", "message": "", "extra": 1},
    ],
)
def test_events_are_validated(payload):
    with pytest.raises(Exception, match="Trigger"):
        JobEvent.from_payload(payload)
