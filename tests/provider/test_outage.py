"""Outages do not end a wait: the deferred wait rides out X being unreachable for 30 s and for
120 s (the emulator behind a TCP proxy the test stops), and the non-deferred wait and the
sensor's poke do the same.

The two long outages run at once, on one emulator (a tweets job and a users job, each watched
through its own proxy), so together they cost about two minutes of real time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from tests.provider.conftest import connection_uri, status_count
from tests.provider.runner import first_event
from tests.proxy import TcpProxy
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.steps import upload_ids, wait
from x_compliance.triggers.events import FINISHED, TIMEOUT, JobEvent
from x_compliance.triggers.job import XComplianceJobTrigger

UNREACHABLE = "X is unreachable while waiting on job"
BACK = "X is reachable again for job"


def _proxied_conn(monkeypatch, conn_id: str, proxy: TcpProxy) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_uri(proxy.url))


def _uploaded(hook, id_file, job_type: str, name: str):
    job = hook.create_job(job_type)
    upload_ids(hook, job, id_file(500, name=name))
    return job


async def _outage(proxy: TcpProxy, after: float, seconds: float) -> None:
    await asyncio.sleep(after)
    proxy.stop()
    await asyncio.sleep(seconds)
    proxy.start()


@pytest.mark.slow
@pytest.mark.timeout(280)
async def test_deferred_wait_rides_out_30s_and_120s_outages(
    hook, emulator, id_file, monkeypatch, caplog, capfd
):
    caplog.set_level(logging.INFO)
    # Jobs finish 20 s (emulator clock) after their upload: during both outages.
    emulator.emulator.config.update(processing_seconds_base=20.0, processing_seconds_per_million=0.0)
    tweets = _uploaded(hook, id_file, "tweets", "tweets.txt")
    users = _uploaded(hook, id_file, "users", "users.txt")
    short, long = TcpProxy(emulator.port).start(), TcpProxy(emulator.port).start()
    _proxied_conn(monkeypatch, "x_short", short)
    _proxied_conn(monkeypatch, "x_long", long)
    deadline = time.time() + 250
    triggers = [
        XComplianceJobTrigger(
            tweets.id, "x_short", poll_interval=1.0, max_poll_interval=4.0, deadline=deadline
        ),
        XComplianceJobTrigger(
            users.id, "x_long", poll_interval=1.0, max_poll_interval=4.0, deadline=deadline
        ),
    ]
    started = time.monotonic()
    try:
        events = await asyncio.gather(
            *(first_event(t) for t in triggers), _outage(short, 2.0, 30.0), _outage(long, 2.0, 120.0)
        )
    finally:
        short.stop()
        long.stop()
    took = time.monotonic() - started
    for payload in events[:2]:
        event = JobEvent.from_payload(payload.payload)
        assert (event.status, event.job_status) == (FINISHED, "complete"), event.message
    assert 120 <= took < 200  # the long one waited out its whole outage, and not much more
    log = caplog.text + capfd.readouterr().out  # the trigger logs through structlog, to stdout
    for job in (tweets, users):
        assert log.count(f"{UNREACHABLE} {job.id}") == 1, log
        assert log.count(f"{BACK} {job.id}") == 1, log
    assert "Traceback" not in log and "Attempt " not in log
    assert status_count(emulator, "get", 429) == 0
    assert {(j["type"]) for j in emulator.emulator.jobs()} == {"tweets", "users"}
    assert len(emulator.emulator.jobs()) == 2  # one job each: no task retry created another


async def test_deferred_wait_still_times_out_at_its_deadline_while_x_is_down(
    hook, emulator, id_file, monkeypatch
):
    job = _uploaded(hook, id_file, "tweets", "ids.txt")
    proxy = TcpProxy(emulator.port)  # never started: connection refused throughout
    _proxied_conn(monkeypatch, "x_down", proxy)
    trigger = XComplianceJobTrigger(
        job.id, "x_down", poll_interval=0.2, max_poll_interval=0.5, deadline=time.time() + 3
    )
    event = JobEvent.from_payload((await first_event(trigger)).payload)
    assert event.status == TIMEOUT
    assert "X had been unreachable" in event.message


def test_blocking_wait_rides_out_an_outage(hook, emulator, id_file, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    job = _uploaded(hook, id_file, "tweets", "ids.txt")
    proxy = TcpProxy(emulator.port).start()
    _proxied_conn(monkeypatch, "x_blip", proxy)
    proxied = XComplianceHook("x_blip", max_attempts=2, timeout=5.0)
    proxy.stop()

    def later() -> None:
        time.sleep(3.0)
        emulator.emulator.clock.advance(60)
        proxy.start()

    threading.Thread(target=later, daemon=True).start()
    try:
        done, _calls = wait(
            proxied, job.id, poll_interval=0.3, max_poll_interval=1.0, deadline=time.time() + 30
        )
    finally:
        proxy.stop()
    assert done.status.value == "complete"
    assert caplog.text.count(UNREACHABLE) == 1 and caplog.text.count(BACK) == 1


def test_sensor_poke_waits_through_an_outage_without_failing(hook, emulator, id_file, monkeypatch, capfd):
    from x_compliance.sensors.job import XComplianceJobSensor

    job = _uploaded(hook, id_file, "tweets", "ids.txt")
    proxy = TcpProxy(emulator.port)  # not started yet: X is unreachable
    _proxied_conn(monkeypatch, "x_poke", proxy)
    sensor = XComplianceJobSensor(
        task_id="wait", job_id=job.id, x_compliance_conn_id="x_poke", poke_interval=1
    )
    assert [sensor.poke({}).is_done for _ in range(3)] == [False, False, False]
    emulator.emulator.clock.advance(60)
    with proxy:
        assert sensor.poke({}).is_done
    out = capfd.readouterr().out
    assert out.count(f"{UNREACHABLE} {job.id}") == 1 and out.count(f"{BACK} {job.id}") == 1
