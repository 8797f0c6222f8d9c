"""twarc2's own command line beside ours and the transfer limits: one job end to end.

``python bench/run.py --twarc --n 10000000``: N IDs (snowflakes as the warehouse makes them,
written with numpy and pyarrow), one pro-tier emulator whose jobs take ``PROCESSING_S`` to
process whatever their size, and three runs in turn, each its own fresh process:

- the limits: ``curl`` PUT of the IDs to a new job's signed URL, the processing, ``curl`` GET
  of its results, and pyarrow turning them into the same Parquet ours writes
  (``limit.upload`` / ``limit.download`` / ``limit.parse``);
- ours: ``XComplianceJobOperator`` with its defaults, deferrable, run as a worker and the
  triggerer would (execute; on ``TaskDeferred`` the trigger to its first event; resume);
- twarc2: ``twarc2 compliance-job create tweets ids.txt results.jsonl``, which creates, uploads,
  waits and downloads, from its own venv (bench/out/twarc-venv, made on first use), pointed at
  the emulator by a ``requests`` transport adapter (``twarc_launch.py``); twarc is not patched.

The floor is processing + the upload, download and parse limits (ours hands on normalized
Parquet; twarc2 only the raw lines); the target for ours is processing + ``TRANSFER_FACTOR`` x
those limits + ``SLACK_S``. Shown, never asserted.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from common import BENCH, OUT, child_env, redact, run_child
from emulator import TOKEN, Emulator

PROCESSING_S = 20.0
TRANSFER_FACTOR = 1.3
SLACK_S = 2.0
TWARC_VENV = OUT / "twarc-venv"
TWARC_REQUIREMENT = "twarc"
LAUNCHER = BENCH / "twarc_launch.py"
EMULATOR_FLAGS = (
    "--tier", "pro",
    "--processing-base", str(PROCESSING_S),
    "--processing-per-million", "0",
)  # fmt: skip


# --- set-up -------------------------------------------------------------------------------------


def twarc_python() -> Path:
    """The twarc venv's interpreter; the venv is made (``python -m venv``, ``pip install twarc``)
    the first time. It is the bench's alone: twarc is no dependency of the project."""
    python = TWARC_VENV / "bin" / "python"
    marker = TWARC_VENV / ".installed"
    if not marker.exists():
        print(f"creating {TWARC_VENV} (pip install {TWARC_REQUIREMENT})", flush=True)
        shutil.rmtree(TWARC_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(TWARC_VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, TWARC_REQUIREMENT], check=True)
        marker.touch()
    return python


def write_ids(path: Path, n: int) -> int:
    """``n`` tweet ids, one a line, as the warehouse makes them (snowflakes spread over the bench's
    day); returns the file's size."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import warehouse

    from x_compliance_demo.warehouse import TWEPOCH_MS

    step_ms = max(1, 86_400_000 // max(n, 1))
    i = np.arange(n, dtype=np.int64)
    ids = ((warehouse.DAY_START_MS + i * step_ms - TWEPOCH_MS) << 22) | (i % 4_194_304)
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    pacsv.write_csv(pa.table({"id": ids}), str(path), write_options=options)
    return path.stat().st_size


# --- measuring ----------------------------------------------------------------------------------


def _stats_delta(before: dict, after: dict) -> dict:
    """API calls and 429s per endpoint made between two ``stats`` snapshots."""
    return {
        "requests": {e: n - before["requests"].get(e, 0) for e, n in after["requests"].items()},
        "rate_limited": {e: n - before["rate_limited"].get(e, 0) for e, n in after["rate_limited"].items()},
    }


def _record(emu: Emulator, job_id: str) -> dict:
    """The emulator's own record of a job (admin API: no API call, no rate limit spent)."""
    (record,) = [job for job in emu.admin("jobs")["jobs"] if job["id"] == job_id]
    return record


def _jobs_named(emu: Emulator, name: str) -> list[dict]:
    return [job for job in emu.admin("jobs")["jobs"] if job["name"] == name]


def _wait_complete(emu: Emulator, job_id: str, timeout: float = 600.0) -> float:
    """Watch the job through the admin API until complete; the seconds from its upload to then."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        record = _record(emu, job_id)
        if record["status"] == "complete":
            return round(time.time() - record["uploaded_at"], 3)
        if record["status"] in ("failed", "expired"):
            raise RuntimeError(f"job {job_id} ended {record['status']}")
        time.sleep(0.25)
    raise TimeoutError(f"job {job_id} not complete after {timeout} s")


def _lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def limits(emu: Emulator, env: dict[str, str], ids: Path, work: Path) -> dict:
    """curl PUT to a fresh job, the processing, curl GET of its results, pyarrow to Parquet."""
    upload = run_child("limit:upload", env, ids_path=str(ids))
    processing_s = _wait_complete(emu, upload["job_id"])
    raw = work / "results-curl.jsonl"
    download = run_child("limit:download", env, job_id=upload["job_id"], raw_path=str(raw))
    parse = run_child("limit:parse", env, raw_path=str(raw), parquet_path=str(work / "limit.parquet"))
    return {
        "upload": upload,
        "processing_observed_s": processing_s,
        "download": {**download, "bytes": raw.stat().st_size, "lines": _lines(raw)},
        "parse": parse,
    }


async def _first_event(trigger):
    async for event in trigger.run():
        return event
    raise RuntimeError(f"{trigger!r} ended without an event")


def ours(ids_path: str, results_path: str, name: str) -> dict:
    """``child.py`` target: the all-in-one operator, deferrable, default polling, as a worker and
    the triggerer run it (tests/provider/runner.py does the same for the tests)."""
    import asyncio
    from types import SimpleNamespace

    from airflow.sdk.exceptions import TaskDeferred
    from child import peak_rss_mb

    from x_compliance.operators.job import XComplianceJobOperator

    class TaskInstance(SimpleNamespace):
        def xcom_push(self, key: str, value) -> None:
            self.xcoms[key] = value

    loaded, started, begun = peak_rss_mb(), time.perf_counter(), time.time()
    operator = XComplianceJobOperator(
        task_id="check",
        job_type="tweets",
        ids_path=ids_path,
        results_path=results_path,
        name=name,
        deferrable=True,
    )
    ti = TaskInstance(dag_id="bench", task_id="check", run_id="bench", map_index=-1, try_number=1, xcoms={})
    context = {"ti": ti, "task_instance": ti, "run_id": "bench"}
    marks: dict[str, float] = {}
    try:
        summary = operator.execute(context)  # not deferred: the job was done at the first look
    except TaskDeferred as deferral:
        marks["deferred_s"] = time.perf_counter() - started  # created, uploaded, first look
        event = asyncio.run(_first_event(deferral.trigger))  # the triggerer
        marks["event_s"] = time.perf_counter() - started
        resume = getattr(operator, deferral.method_name)  # a worker again
        summary = resume(context, event=event.payload, **(deferral.kwargs or {}))
    seconds, ended = time.perf_counter() - started, time.time()
    seen = datetime.fromisoformat(summary["wait"]["completed_at"]).timestamp()  # the trigger's look
    return {
        "seconds": seconds,
        "import_rss_mb": loaded,
        **{key: round(value, 3) for key, value in marks.items()},
        "begun": begun,
        "complete_seen": seen,
        "ended": ended,
        "resumable": operator.resumable,
        "rows": summary["rows"],
        "downloaded_bytes": summary["downloaded_bytes"],
        "status_calls_reported": summary["wait"]["status_calls"],
    }


def run_twarc(python: Path, emu: Emulator, ids: Path, work: Path, name: str) -> dict:
    """twarc2's CLI in its own venv; wall time of the whole process, and when each API call went."""
    results, timings = work / "results-twarc.jsonl", work / "twarc-timings.json"
    args = [
        "--log", str(work / "twarc.log"),
        "compliance-job", "create", "tweets", str(ids), str(results),
        "--job-name", name, "--hide-progress",
    ]  # fmt: skip
    command = [str(python), "-I", str(LAUNCHER), emu.url, str(timings), *args]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    # The token from the environment (not argv); no config file of the user's is read or made.
    env.update(BEARER_TOKEN=TOKEN, XDG_CONFIG_HOME=str(work / "twarc-config"))
    started = time.perf_counter()
    done = subprocess.run(
        command, env=env, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0 or not results.exists():
        raise RuntimeError(f"twarc2 failed ({done.returncode}):\n{redact(done.stderr[-4000:])}")
    timing = json.loads(timings.read_text())
    calls = timing.pop("api_calls")
    shown = "BEARER_TOKEN=*** " + shlex.join(["twarc2", *args]).replace(str(work), "$WORK")
    return {
        "seconds": round(wall, 3),
        "work_s": round(timing["ended"] - timing["imported"], 3),
        "startup_s": round(timing["imported"] - timing["started"], 3),
        "timing": timing,
        "api_calls": [{k: c[k] for k in ("method", "path", "status")} for c in calls],
        "calls": calls,
        "bytes": results.stat().st_size,
        "lines": _lines(results),
        "stderr_tail": redact(done.stderr[-800:]),
        "command": shown,
    }


# --- the comparison -----------------------------------------------------------------------------


def side_by_side(n: int, keep: bool = False) -> dict:
    """The three runs on one emulator; the document for results-twarc-N.json, with its table."""
    python = twarc_python()
    version = subprocess.run(
        [str(python), "-I", "-c", "from importlib.metadata import version; print(version('twarc'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"work-twarc-{n}-", dir=OUT))
    try:
        ids = work / "ids.txt"
        started = time.perf_counter()
        id_bytes = write_ids(ids, n)
        print(f"{n:,} ids ({id_bytes / 1e6:.0f} MB) written in {time.perf_counter() - started:.1f} s")
        home = work / "airflow"
        home.mkdir()
        with Emulator(work / "emulator", *EMULATOR_FLAGS) as emu:
            env = child_env(home, None, emu.connection_env())

            print("limits: curl PUT, processing, curl GET", flush=True)
            before = emu.admin("stats")
            limit = limits(emu, env, ids, work)
            for transfer in ("upload", "download"):
                limit[transfer]["command"] = limit[transfer]["command"].replace(str(work), "$WORK")
            limit["api"] = _stats_delta(before, emu.admin("stats"))

            print("ours: XComplianceJobOperator, deferrable", flush=True)
            before, wall = emu.admin("stats"), time.perf_counter()
            results = str(work / "ours.parquet")
            mine = run_child("twarc:ours", env, ids_path=str(ids), results_path=results, name="bench-ours")
            mine["process_s"] = round(time.perf_counter() - wall, 3)
            mine["api"] = _stats_delta(before, emu.admin("stats"))
            (job,) = _jobs_named(emu, "bench-ours")
            mine["job"] = {k: job[k] for k in ("id", "created_at", "uploaded_at", "ids_uploaded")}
            mine["phases"] = _phases(mine["begun"], job["uploaded_at"], mine["complete_seen"], mine["ended"])

            print(f"twarc2 {version}: compliance-job create (waits, downloads)", flush=True)
            before = emu.admin("stats")
            theirs = run_twarc(python, emu, ids, work, name="bench-twarc")
            theirs["api"] = _stats_delta(before, emu.admin("stats"))
            (job,) = _jobs_named(emu, "bench-twarc")
            theirs["job"] = {k: job[k] for k in ("id", "created_at", "uploaded_at", "ids_uploaded")}
            theirs["phases"] = _twarc_phases(theirs)
            for who, run in (("ours", mine), ("twarc2", theirs)):  # twarc never checks its PUT's status
                if run["job"]["ids_uploaded"] != n:
                    raise RuntimeError(f"{who}'s job got {run['job']['ids_uploaded']} IDs of {n}")
            emulator = {"flags": list(EMULATOR_FLAGS), "total_cpu_s": round(emu.cpu_seconds(), 3)}
    finally:
        if keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    document = {
        "n": n,
        "ids_bytes": id_bytes,
        "processing_s": PROCESSING_S,
        "twarc_version": version,
        "emulator": emulator,
        "limits": limit,
        "ours": mine,
        "twarc": theirs,
    }
    document["summary"] = summarize(document)
    return document


def _phases(begun: float, uploaded: float, seen: float, ended: float) -> dict:
    """A run's time, split where the emulator saw its upload end and where the client first saw
    the job complete (one clock: the emulator's is this machine's, never advanced here)."""
    return {
        "to_uploaded_s": round(uploaded - begun, 3),
        "uploaded_to_complete_seen_s": round(seen - uploaded, 3),
        "complete_seen_to_end_s": round(ended - seen, 3),
    }


def _twarc_phases(theirs: dict) -> dict:
    """twarc2's phases from its API calls (the last status call saw the job complete), after its
    imports; and when its status calls went, counted from the upload's end."""
    timing, job = theirs["timing"], theirs["job"]
    gets = [c for c in theirs["calls"] if c["method"] == "GET"]
    seen = gets[-1]["answered"] if gets else timing["ended"]
    return {
        **_phases(timing["imported"], job["uploaded_at"], seen, timing["ended"]),
        "status_calls_at_s_after_upload": [round(c["sent"] - job["uploaded_at"], 1) for c in gets],
    }


def summarize(document: dict) -> dict:
    limit, mine, theirs = document["limits"], document["ours"], document["twarc"]
    up, down, processing = limit["upload"]["seconds"], limit["download"]["seconds"], document["processing_s"]
    parse = limit["parse"]["seconds"]
    floor = processing + up + down + parse
    target = processing + TRANSFER_FACTOR * (up + down + parse) + SLACK_S
    return {
        "upload_limit_s": round(up, 3),
        "download_limit_s": round(down, 3),
        "parse_limit_s": round(parse, 3),
        "processing_s": processing,
        "floor_s": round(floor, 3),
        "target_s": round(target, 3),
        "ours_s": mine["seconds"],
        "ours_process_s": mine["process_s"],
        "twarc_s": theirs["seconds"],
        "twarc_work_s": theirs["work_s"],
        "ours_within_target": mine["seconds"] <= target,
        "ours_over_floor_s": round(mine["seconds"] - floor, 3),
        "twarc_over_ours": round(theirs["work_s"] / mine["seconds"], 2),
        "twarc_over_ours_process": round(theirs["seconds"] / mine["process_s"], 2),
        "ours_status_calls": mine["api"]["requests"].get("get", 0),
        "twarc_status_calls": theirs["api"]["requests"].get("get", 0),
        "ours_429s": sum(mine["api"]["rate_limited"].values()),
        "twarc_429s": sum(theirs["api"]["rate_limited"].values()),
        "commands": {
            "upload limit": limit["upload"].get("command"),
            "download limit": limit["download"].get("command"),
            "parse limit": limit["parse"]["tool"],
            "twarc2": theirs["command"],
        },
    }


def table(document: dict) -> str:
    s, mine, theirs, limit = document["summary"], document["ours"], document["twarc"], document["limits"]

    def calls(doc: dict) -> str:
        return ", ".join(f"{e} {c}" for e, c in doc["api"]["requests"].items() if c)

    def row(label: str, total: float, process: float | None, up: float, wait: float, down: float) -> str:
        shown = "-" if process is None else f"{process:.2f}"
        return f"{label:<26} {total:>8.2f} {shown:>9} | {up:>11.2f} {wait:>16.2f} {down:>13.2f}"

    head = (
        f"{'':<26} {'total s':>8} {'process s':>9} | {'to uploaded':>11} {'to complete seen':>16} "
        f"{'then the rest':>13}"
    )
    up, down, proc = s["upload_limit_s"], s["download_limit_s"] + s["parse_limit_s"], s["processing_s"]
    ours_p, twarc_p = mine["phases"], theirs["phases"]
    verdict = "within" if s["ours_within_target"] else "OVER"
    lines = [
        f"N = {document['n']:,} IDs ({document['ids_bytes'] / 1e6:.0f} MB), processing {proc:.0f} s, "
        f"pro tier; twarc {document['twarc_version']}",
        head,
        "-" * len(head),
        row("floor (curl PUT, GET, parse)", s["floor_s"], None, up, proc, down),
        row("ours (operator)", s["ours_s"], s["ours_process_s"], *ours_p.values()),
        row("twarc2 (CLI)", theirs["work_s"], s["twarc_s"], *list(twarc_p.values())[:3]),
        "total: from the operator's start / after twarc's imports; process: the whole fresh process. "
        "Seen complete: by ours' trigger / twarc's status call; the rest: download (+ Parquet, ours).",
        f"processing seen on the limit's job: {limit['processing_observed_s']:.2f} s (looked every 0.25 s)",
        f"target: processing + {TRANSFER_FACTOR} x (PUT + GET + parse) + {SLACK_S:.0f} s "
        f"= {s['target_s']:.2f} s; "
        f"ours {s['ours_s']:.2f} s: {verdict}, floor + {s['ours_over_floor_s']:.2f} s",
        f"twarc2 / ours: {s['twarc_over_ours']:.2f} (total), {s['twarc_over_ours_process']:.2f} (process)",
        f"API calls: ours {calls(mine)}; twarc2 {calls(theirs)} (status calls at "
        f"{', '.join(f'{t:.1f}' for t in twarc_p['status_calls_at_s_after_upload'])} s after the upload); "
        f"429s: ours {s['ours_429s']}, twarc2 {s['twarc_429s']}",
        f"results: ours {mine['rows']:,} rows to Parquet ({mine['downloaded_bytes']:,} B fetched); "
        f"twarc2 {theirs['lines']:,} lines ({theirs['bytes']:,} B); "
        f"curl {limit['download']['lines']:,} lines ({limit['download']['bytes']:,} B)",
        "commands:",
        *(f"  {what}: {command}" for what, command in s["commands"].items()),
    ]
    return "\n".join(lines)
