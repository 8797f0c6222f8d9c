"""One rate-limit budget for a run: K jobs in a row, each waited on by the trigger the DAG defers
to, planned from the run's pace (the waits sharing X's budget) or each on its own.

Each job goes as in the example DAG: create, upload (to the job create returned: no read), the
trigger's wait, then the download's read of the job by id (for its signed URL), within the status
headers the wait's event handed on, as the next wait's plan carries them too. Reports the status
calls, the 429s, the pauses that lasted until a window's reset, and each job's completion (the
emulator's modelled processing time after the upload) to its noticing.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from pathlib import Path

from x_compliance.hooks.run_budget import RunPace, measured_seconds, plan_wait
from x_compliance.hooks.wait_report import now_iso
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.steps import upload_ids
from x_compliance.triggers.events import JobEvent
from x_compliance.triggers.job import XComplianceJobTrigger

# The steps' reads of a job by id besides its wait (the download's, for its signed URL): they
# come out of the same budget.
STEP_READS_PER_JOB = 1


def _record_status_calls(calls: list[tuple[float, object]]) -> None:
    """Note the time and rate-limit headers of every status call the trigger makes."""
    original = XComplianceHook.aget_job

    async def recorded(self: XComplianceHook, job_id: str, **kwargs: object) -> object:
        try:
            return await original(self, job_id, **kwargs)
        finally:
            calls.append((time.monotonic(), self.last_rate_limit))

    XComplianceHook.aget_job = recorded


def _windows_slept_out(calls: list[tuple[float, object]]) -> int:
    """Pauses between two status calls that lasted until the window's reset (the budget's doing)."""
    slept = 0
    for (before, limit), (after, _) in itertools.pairwise(calls):
        if limit is not None and limit.seconds_to_reset > 0 and after - before >= limit.seconds_to_reset:
            slept += 1
    return slept


async def _wait(job_id: str, plan: dict | None, poll_interval: float) -> JobEvent:
    trigger = XComplianceJobTrigger(job_id, poll_interval=poll_interval, plan=plan)
    async for event in trigger.run():
        return JobEvent.from_payload(event.payload)
    raise RuntimeError(f"the trigger on job {job_id} ended without an event")


def sweep(jobs: int, ids: int, job_seconds: float, poll_interval: float, planned: bool) -> dict:
    """``jobs`` jobs of ``ids`` IDs in a row, each taking X ``job_seconds``; what the waits cost."""
    hook = XComplianceHook(max_rate_limit_wait=3600.0)
    calls: list[tuple[float, object]] = []
    _record_status_calls(calls)
    pace, late, wait_calls, slept = RunPace(), [], 0, 0
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "ids.txt"
        path.write_text("".join(f"{1_170_025_343_920_402_432 + i * 4_194_304}\n" for i in range(ids)))
        for k in range(jobs):
            job = hook.create_job("tweets")
            upload_ids(hook, job, path)
            uploaded_at, uploaded = now_iso(), time.monotonic()
            known = hook.status_rate_limit
            plan = plan_wait(
                ids=ids,
                uploaded_at=uploaded_at,
                pace=pace,
                jobs_after=jobs - 1 - k,
                status_limit=known.to_json() if known is not None and planned else None,
            )
            del calls[:]
            event = asyncio.run(_wait(job.id, plan.to_json() if planned else None, poll_interval))
            late.append(calls[-1][0] - uploaded - job_seconds)
            wait_calls += len(calls)
            slept += _windows_slept_out(calls)
            pace = pace.plus(ids, measured_seconds(uploaded_at, event.seen_at, event.unfinished_at))
            if planned:  # the download's hook heard of the wait's last headers from its event
                hook.rate_limits.pop("status", None)
                hook.knows_status_limit(event.status_limit)
            for _ in range(STEP_READS_PER_JOB):
                hook.get_job(job.id)
    return {
        "wait_status_calls": wait_calls,
        "step_reads": jobs * STEP_READS_PER_JOB,
        "windows_slept_out": slept,
        "late_s": [round(x, 2) for x in late],
    }


# The tiers at a scaled window, so that a sweep runs in a minute: X's window is 900 s, a 5M-ID
# job takes X about a second when it is fast (the 86M run: 12.2 s over 18 jobs), status calls at
# least a second apart (the DAGs' poll interval), all scaled by the same factor.
TIERS = {
    # tier: (status calls per window, the window in seconds, the jobs of the sweep)
    "pro": (150, 60.0, 20),
    "basic": (5, 20.0, 5),
}
JOB_IDS = 2000


def scaled(window: float) -> dict[str, float]:
    """X's times scaled from its 900 s window to ``window``: one job, and the shortest pause."""
    scale = window / 900.0
    return {"job_seconds": 12.0 * scale, "poll_interval": 1.0 * scale}


def compare(work: Path) -> dict:
    """Each tier, the planned waits beside waits on their own (same emulator settings)."""
    from common import child_env, run_child
    from emulator import Emulator

    rows = {}
    for tier, (limit, window, jobs) in TIERS.items():
        times = scaled(window)
        per_million = times["job_seconds"] / JOB_IDS * 1e6
        flags = (
            "--tier", tier,
            "--rate-limit-window", str(window),
            "--processing-base", "0",
            "--processing-per-million", str(per_million),
        )  # fmt: skip
        for planned in (True, False):
            with Emulator(work / f"emulator-budget-{tier}-{planned}", *flags) as emu:
                env = child_env(work / "airflow-budget", None, emu.connection_env())
                result = run_child("budget:sweep", env, jobs=jobs, ids=JOB_IDS, planned=planned, **times)
                stats = emu.admin("stats")
            late = result["late_s"]
            rows[(tier, "run budget" if planned else "each alone")] = {
                **result,
                "tier_limit": limit,
                "window_s": window,
                "jobs": jobs,
                "job_seconds": times["job_seconds"],
                "status_calls": stats["requests"].get("get", 0),
                "rate_limited": stats["rate_limited"].get("get", 0),
                "late_median_s": sorted(late)[len(late) // 2],
                "late_max_s": max(late),
            }
            print(f"  budget {tier:<5} planned={planned!s:<5} {result['seconds']:7.1f} s", flush=True)
    return {f"{tier} / {how}": row for (tier, how), row in rows.items()}


def table(rows: dict) -> str:
    """The bench's table: one line per tier and way of waiting."""
    lines = [
        "One rate-limit budget per run (K jobs in a row, scaled windows)",
        f"  {'tier / waits':<24}{'jobs':>5}{'window':>8}{'run s':>8}{'GETs':>6}{'of wait':>8}"
        f"{'429s':>6}{'slept out':>10}{'late med':>9}{'late max':>9}",
    ]
    for name, r in rows.items():
        lines.append(
            f"  {name:<24}{r['jobs']:>5}{r['window_s']:>7.0f}s{r['seconds']:>8.1f}{r['status_calls']:>6}"
            f"{r['wait_status_calls']:>8}{r['rate_limited']:>6}{r['windows_slept_out']:>10}"
            f"{r['late_median_s']:>8.2f}s{r['late_max_s']:>8.2f}s"
        )
    lines.append(
        f"  limits: pro {TIERS['pro'][0]}, basic {TIERS['basic'][0]} status calls per window; each job "
        f"{STEP_READS_PER_JOB} step reads besides its wait; late: from X done to the wait noticing"
    )
    return "\n".join(lines)
