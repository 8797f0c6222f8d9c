"""The one rule every wait follows after a status call (``JobWatch``): a table of outcome ->
step, the outage lines, and the three waits (the trigger, the blocking wait, the sensor) driven by
it against the emulator with faults on, calling and pausing alike."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import TOKEN
from tests.provider.conftest import status_count
from tests.provider.runner import first_event, make_context, run_task
from x_compliance.exceptions import (
    JobExpiredError,
    JobFailedError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    WaitTimeoutError,
)
from x_compliance.hooks.jobs import ComplianceJob, JobStatus, JobType
from x_compliance.hooks.responses import RateLimit
from x_compliance.hooks.watch import JobWatch, Next
from x_compliance.operators.steps import upload_ids, wait
from x_compliance.sensors.job import XComplianceJobSensor
from x_compliance.triggers.events import FINISHED, JobEvent
from x_compliance.triggers.job import XComplianceJobTrigger
from x_compliance_emulator import Fault

SIGNED = "https://storage.example/upload?X-Goog-Signature=0123abcd"  # a credential: never told
UNREACHABLE = "X is unreachable while waiting on job"
BACK = "X is reachable again for job"
RATE_LIMITED = "X rate-limited the status call of job"
FLOOR, CEILING = 2.0, 60.0
# Basic tier, first call of a window: 4 calls left, 900 s to the reset (the budget: 901/7 s).
BASIC = RateLimit(limit=5, remaining=4, reset_epoch=1900, server_epoch=1000)


def _job(status: str, error: str | None = None) -> ComplianceJob:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    return ComplianceJob(
        id="42",
        type=JobType.TWEETS,
        status=JobStatus(status),
        resumable=True,
        created_at=created,
        upload_expires_at=created + timedelta(minutes=15),
        download_expires_at=created + timedelta(days=7),
        error=error,
        upload_url=SIGNED,
    )


@dataclass
class Row:
    """Status call outcomes fed in turn (a driver pauses as told between them), and the last step."""

    outcomes: list
    next: Next
    pause: tuple[float, float] = (0.0, 0.0)
    message: str = ""
    raises: type[BaseException] | None = None  # what a raising wait (blocking, sensor) raises
    rate_limit: RateLimit | None = None
    deadline_in: float | None = None
    logs: dict[str, int] = field(default_factory=dict)


TABLE = {
    "complete": Row([_job("complete")], Next.DONE, message="tweets job 42 (complete) after 1 status call(s)"),
    "failed": Row(
        [_job("failed", "Bad input file")],
        Next.DONE,
        message="tweets job 42 (failed) after 1 status call(s)",
        raises=JobFailedError,
    ),
    "expired": Row(
        [_job("expired")],
        Next.DONE,
        message="tweets job 42 (expired) after 1 status call(s)",
        raises=JobExpiredError,
    ),
    "in_progress: the floor": Row(
        [_job("in_progress")], Next.PAUSE, pause=(FLOOR, FLOOR), logs={"next check in 2s": 1}
    ),
    "in_progress: X's budget wins over the ceiling": Row(
        [_job("in_progress")],
        Next.PAUSE,
        pause=(901 / 7, 901 / 7),
        rate_limit=BASIC,
        logs={"next check in 129s; 4/5 calls left in this window": 1},
    ),
    "transport error: back off, X unreachable": Row(
        [requests.ConnectionError(f"Max retries exceeded with url: {SIGNED}")],
        Next.PAUSE,
        pause=(0.8 * FLOOR, FLOOR),
        logs={f"{UNREACHABLE} 42 (ConnectionError)": 1},
    ),
    "5xx: back off, X unreachable": Row(
        [ServerError("get job 42: X answered HTTP 503 (Service Unavailable)", status=503)],
        Next.PAUSE,
        pause=(0.8 * FLOOR, FLOOR),
        logs={f"{UNREACHABLE} 42 (get job 42: X answered HTTP 503": 1},
    ),
    "429: X's wait, past the ceiling, and X is not unreachable": Row(
        [RateLimitedError("get job 42: rate limited by X", reset_at=None, wait_seconds=90.0, status=429)],
        Next.PAUSE,
        pause=(91.0, 91.0),
        logs={f"{RATE_LIMITED} 42; next in 90s": 1, UNREACHABLE: 0},
    ),
    "non-retryable, ours: told in full": Row(
        [UnauthorizedError("get job 42: X refused the bearer token (HTTP 401)", status=401)],
        Next.FAIL,
        message="get job 42: X refused the bearer token (HTTP 401)",
        raises=UnauthorizedError,
    ),
    "non-retryable, another's: told by its class": Row(
        [ValueError(f"cannot parse {SIGNED}")], Next.FAIL, message="ValueError", raises=ValueError
    ),
    "deadline passed during an outage": Row(
        [requests.ConnectionError(SIGNED), requests.ConnectionError(SIGNED)],
        Next.GIVE_UP,
        message="Gave up waiting on X compliance job 42: still unknown at the deadline, after 2 status "
        "call(s); X had been unreachable for 0s",
        raises=WaitTimeoutError,
        deadline_in=0.3,
        logs={UNREACHABLE: 1},
    ),
}


@pytest.mark.parametrize("row", TABLE.values(), ids=TABLE.keys())
def test_the_rule(row: Row, caplog):
    caplog.set_level(logging.INFO)
    log = logging.getLogger("test.watch")
    deadline = None if row.deadline_in is None else time.time() + row.deadline_in
    watch = JobWatch(log, "42", poll_interval=FLOOR, max_poll_interval=CEILING, deadline=deadline)
    *before, last = row.outcomes
    for outcome in before:
        step = watch.after(outcome, row.rate_limit)
        assert step.next is Next.PAUSE and step.pause <= row.deadline_in
        time.sleep(step.pause)
    step = watch.after(last, row.rate_limit)
    assert step.next is row.next
    assert row.pause[0] - 0.01 <= step.pause <= row.pause[1] + 0.01
    assert step.message == row.message
    if row.raises is not None:
        with pytest.raises(row.raises):
            step.complete_job()
    elif row.next is Next.DONE:
        assert step.complete_job() is last
    else:
        assert step.complete_job() is None
    assert watch.calls == len(row.outcomes)
    for line, times in row.logs.items():
        assert caplog.text.count(line) == times, caplog.text
    assert SIGNED not in caplog.text + step.message


def test_one_warning_per_outage_and_one_line_when_x_is_back(caplog):
    caplog.set_level(logging.INFO)
    watch = JobWatch(logging.getLogger("test.watch"), "42", poll_interval=0.1, max_poll_interval=1.0)
    down, up = requests.ConnectionError(SIGNED), _job("in_progress")
    pauses = [watch.after(outcome, None).pause for outcome in (down, down, down, down, up, down, up)]
    assert caplog.text.count(UNREACHABLE) == 2 and caplog.text.count(BACK) == 2
    assert "(4 failed status calls)" in caplog.text and "(1 failed status calls)" in caplog.text
    # The backoff doubles while X stays away, up to the ceiling, and starts over after it is back.
    assert 0.08 <= pauses[0] <= 0.1 and 0.16 <= pauses[1] <= 0.2 and 0.64 <= pauses[3] <= 0.8
    assert 0.08 <= pauses[5] <= 0.1


# -- one rule, three waits -----------------------------------------------------------------------


def _trigger_wait(job_id: str) -> int:
    trigger = XComplianceJobTrigger(
        job_id, poll_interval=0.2, max_poll_interval=1.0, deadline=time.time() + 60
    )
    event = JobEvent.from_payload(asyncio.run(first_event(trigger)).payload)
    assert (event.status, event.job_status) == (FINISHED, "complete"), event.message
    return event.status_calls


def _blocking_wait(job_id: str) -> int:
    from x_compliance.hooks.x_compliance import XComplianceHook

    job, calls = wait(
        XComplianceHook(), job_id, poll_interval=0.2, max_poll_interval=1.0, deadline=time.time() + 60
    )
    assert job.status is JobStatus.COMPLETE
    return calls


def _sensor_wait(job_id: str) -> int:
    sensor = XComplianceJobSensor(
        task_id="wait", job_id=job_id, deferrable=False, poke_interval=0.2, timeout=60
    )
    context = make_context(task_id="wait")
    result, _ = run_task(sensor, context)
    assert result == job_id
    return context["ti"].xcoms["wait_report"]["status_calls"]


WAITS = {"trigger": _trigger_wait, "blocking wait": _blocking_wait, "sensor": _sensor_wait}


@pytest.mark.parametrize("waits", WAITS.values(), ids=WAITS.keys())
def test_one_rule_drives_every_wait(waits, hook, emulator, id_file, caplog, capfd):
    """Two 503s (X unreachable: backoff, one warning), then a 429 (X's own wait, 2 to 3 s here,
    however short the poll interval), then the answer: each wait makes the same four calls,
    says the same lines, and honours the 429's wait."""
    caplog.set_level(logging.INFO)
    job = hook.create_job("tweets")
    upload_ids(hook, job, id_file(100))
    emulator.emulator.clock.advance(60)  # complete at the first call that gets through
    emulator.emulator.faults.add(Fault("http_503", target="get", count=2))
    emulator.emulator.faults.add(Fault("http_429", target="get", count=1, body="problem"))
    started = time.monotonic()
    calls = waits(job.id)
    took = time.monotonic() - started
    assert calls == 4
    assert (status_count(emulator, "get", 503), status_count(emulator, "get", 429)) == (2, 1)
    assert took >= 3.0, f"the 429's wait was not honoured: done after {took:.1f}s"
    log = caplog.text + capfd.readouterr().out  # operators and triggers log through structlog too
    assert log.count(f"{UNREACHABLE} {job.id}") == 1, log
    assert log.count(f"{RATE_LIMITED} {job.id}") == 1, log
    assert log.count(f"{BACK} {job.id} after") == 1, log
    assert "Traceback" not in log and "Attempt " not in log
    assert TOKEN not in log and "X-Goog" not in log  # neither the token nor a signed URL
