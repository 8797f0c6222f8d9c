"""XComplianceJobTrigger on the emulator's clock: complete, failed, expired, 429s, deadline, pacing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import TOKEN
from tests.provider.conftest import status_count
from tests.provider.runner import first_event
from x_compliance.hooks.pacing import next_poll_delay
from x_compliance.hooks.responses import RateLimit
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
    hook.upload_ids(job, id_file(100))
    emulator.emulator.clock.advance(60)
    event = JobEvent.from_payload((await first_event(_trigger(job.id))).payload)
    assert (event.status, event.job_status) == (FINISHED, "complete")
    event.raise_unless_complete()


async def test_failed_carries_x_error(hook, emulator, id_file):
    emulator.emulator.faults.add(Fault("fail_job", error="Could not parse file"))
    job = hook.create_job("tweets")
    hook.upload_ids(job, id_file(100))
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
    hook.upload_ids(job, id_file(100))
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


async def test_basic_tier_never_sees_a_429(hook, emulator, id_file):
    """5 GETs per window: the trigger must pace itself by X's headers across several windows."""
    config = emulator.emulator.config
    config.tier, config.rate_limit_window_seconds = "basic", 3.0
    config.processing_seconds_base, config.processing_seconds_per_million = 9.0, 0.0
    job = hook.create_job("tweets")
    hook.upload_ids(job, id_file(100))
    event = JobEvent.from_payload((await first_event(_trigger(job.id, poll_interval=0.01))).payload)
    assert event.job_status == "complete"
    assert status_count(emulator, "get", 429) == 0
    assert status_count(emulator, "get", 200) >= 6  # it did poll across more than one window


@pytest.mark.parametrize(
    ("remaining", "to_reset", "expected"),
    [
        (149, 900, 901 / 148),  # pro: about every 6 s
        (4, 900, 901 / 3),  # basic: about every 5 minutes, one call kept in hand
        (1, 900, 901),  # the last call of the window is kept: wait for the reset
        (0, 30, 31),  # out of calls: wait until the reset
        (100, 0, 5),  # never below the floor
    ],
)
def test_pacing(remaining, to_reset, expected):
    limit = RateLimit(limit=150, remaining=remaining, reset_epoch=1000 + to_reset, server_epoch=1000)
    assert next_poll_delay(limit, floor=5, ceiling=1000) == pytest.approx(expected, abs=0.01)


def test_pacing_ceiling_and_no_headers():
    limit = RateLimit(limit=5, remaining=0, reset_epoch=5000, server_epoch=1000)
    assert next_poll_delay(limit, floor=5, ceiling=900) == 900
    assert next_poll_delay(None, floor=7, ceiling=900) == 7


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
