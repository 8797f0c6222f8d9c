"""What a deferred wait costs: the trigger's CPU while a job sits ``in_progress``, and its calls.

Runs against a ``basic``-tier emulator (5 status calls per window) with a short window, so a
one-minute wait crosses a few windows and shows whether the pacing ever runs into a 429.
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from pathlib import Path

from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.steps import upload_ids
from x_compliance.triggers.job import XComplianceJobTrigger


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _first_event(trigger: XComplianceJobTrigger) -> dict:
    async for event in trigger.run():
        return event.payload
    return {}


def trigger_wait(poll_interval: float, max_poll_interval: float) -> dict:
    hook = XComplianceHook()
    job = hook.create_job("tweets")
    with tempfile.TemporaryDirectory() as scratch:
        ids = Path(scratch) / "ids.txt"
        ids.write_text("".join(f"{1_170_025_343_920_402_432 + i * 4_194_304}\n" for i in range(1000)))
        upload_ids(hook, job, ids)
    trigger = XComplianceJobTrigger(job.id, poll_interval=poll_interval, max_poll_interval=max_poll_interval)
    cpu, started = _cpu(), time.perf_counter()
    payload = asyncio.run(_first_event(trigger))
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    return {
        "seconds": wall,
        "trigger_cpu_seconds": round(cpu, 4),
        "cpu_seconds_per_hour_waited": round(cpu / wall * 3600, 2),
        "event_status": payload.get("status"),
        "job_status": payload.get("job_status"),
        "message": payload.get("message"),
    }
