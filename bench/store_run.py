"""A whole store re-checked: the daily run (R=7) or the full sweep (R=1) of N Posts over 30 days,
each stage of ours beside its limit summed over the run's jobs, then the tweets DAG itself.

``python bench/run.py --store --n 100000000 --recheck-days 7,1 --dag [--warehouse postgres]``.
Phases:

1. the store: N Posts over 30 days (bench/warehouse.py, or bench/postgres.py's cluster);
   ``store-N[-postgres].json`` says how long that took and how much disk it needs;
2. the swept store: that store after a first full sweep (the limit's export, upload and download,
   ours' parse and apply, so it holds the audit and ``compliance_runs`` a real store would);
3. the measured runs, one per R, against an emulator whose fates drifted by ``CHURN`` since that
   sweep.

SQLite keeps the first two phases in bench/out, so a later call resumes where the last one
stopped; PostgreSQL's cluster lives for one call, which makes both phases again (give every R
at once). A stage that changes the warehouse works on a copy made just before it and removed
right after: at 100M a copy is 15 GB (SQLite), and the disk holds the store and one copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dag_run
import postgres
import report
import warehouse
from common import OUT, Runner, child_env, run_child
from emulator import Emulator

DAY = warehouse.DAY_START[:10]
STORE_DAYS = 30
IDS_PER_JOB = 5_000_000  # the DAGs' X_COMPLIANCE_MAX_IDS_PER_JOB default (that variable overrides it)
CHURN = 0.005  # the share of the store whose fate changes between the sweep and the measured run
FAST_X = ("--processing-base", "0", "--processing-per-million", "0")
STAGES = ("export", "upload", "X's own time", "download", "parse", "apply")


def store(n: int) -> Path:
    """Phase 1: the pristine store, generated unless kept from an earlier call."""
    meta = OUT / f"store-{n}.json"
    generating = not warehouse.cached_path(OUT, n, STORE_DAYS).exists()
    started = time.perf_counter()
    path = warehouse.cached(OUT, n, STORE_DAYS)
    if generating:
        seconds = round(time.perf_counter() - started, 1)
        meta.write_text(json.dumps({"n": n, "generate_s": seconds, "bytes": path.stat().st_size}))
    return path


def swept(n: int, work: Path) -> Path:
    """Phase 2 (SQLite): the store after one full sweep, made in place from the pristine one
    (whose name it takes back if the sweep fails: the apply is one transaction, so the file is
    then unchanged)."""
    target = warehouse.cached_path(OUT, n, STORE_DAYS).with_name(f"swept-{n}-v{warehouse.VERSION}.db")
    if target.exists():
        return target
    pristine = store(n)
    sweeping = target.with_suffix(".partial")
    pristine.rename(sweeping)
    try:
        record = sweep(warehouse.SqliteWarehouse(sweeping, work), work)
    except BaseException:
        sweeping.rename(pristine)
        raise
    sweeping.rename(target)
    _record(OUT / f"store-{n}.json", n, sweep=record)
    return target


@contextmanager
def swept_postgres(n: int, work: Path) -> Iterator[postgres.PostgresWarehouse]:
    """Phases 1 and 2 (PostgreSQL): a cluster generating the store, then sweeping it in place."""
    started = time.perf_counter()
    with postgres.running(n, days=STORE_DAYS) as pg:
        generated = round(time.perf_counter() - started, 1)
        size = pg.psql(postgres.PRISTINE, "-At", "-c", "SELECT pg_database_size(current_database())")
        record = sweep(pg, work)
        meta = OUT / f"store-{n}-postgres.json"
        _record(meta, n, generate_s=generated, bytes=int(size.stdout), sweep=record)
        yield pg


def sweep(wh, work: Path) -> dict:
    """A first full sweep of the pristine store, in place: the limit's tools export, upload and
    download, ours parses and applies."""
    started = time.perf_counter()
    with Emulator(work / "emulator-sweep", *FAST_X) as emu:
        env = child_env(work / "airflow-sweep", wh.connection(), emu.connection_env())
        (work / "airflow-sweep").mkdir()
        ids = work / "sweep-ids.txt"
        name, kwargs = wh.export_limit("SELECT id FROM tweets", str(ids))
        run_child(name, env, **kwargs)
        parts = split_ids(ids, work / "sweep")
        jobs = [_limit_job(emu, env, part) for part in parts]
        applied = run_child("ours:apply_jobs", env, jobs=jobs, run_id="first-sweep")
    return {"seconds": round(time.perf_counter() - started, 1), "jobs": len(jobs), "apply": applied}


def _record(meta: Path, n: int, **facts) -> None:
    document = json.loads(meta.read_text()) if meta.exists() else {"n": n}
    document.update(facts)
    meta.write_text(json.dumps(document))


def _limit_job(emu: Emulator, env: dict[str, str], ids_path: Path) -> dict:
    """One job of the sweep by the limit's tools, its results parsed by ours (for ours' apply)."""
    uploaded = run_child("limit:upload", env, ids_path=str(ids_path))
    emu.wait_complete(uploaded["job_id"])
    raw, parquet = ids_path.with_suffix(".jsonl"), ids_path.with_suffix(".parquet")
    run_child("limit:download", env, job_id=uploaded["job_id"], raw_path=str(raw))
    run_child("ours:parse", env, raw_path=str(raw), parquet_path=str(parquet), job_id=uploaded["job_id"])
    raw.unlink()
    return {"job_id": uploaded["job_id"], "parquet_path": str(parquet), "ids_path": str(ids_path)}


def split_ids(ids: Path, folder: Path) -> list[Path]:
    """``ids`` cut into files of one job each (coreutils ``split``), the whole file removed."""
    per_job = int(os.environ.get("X_COMPLIANCE_MAX_IDS_PER_JOB", IDS_PER_JOB))
    folder.mkdir()
    subprocess.run(["split", "-l", str(per_job), "-d", "-a", "4", str(ids), f"{folder}/part-"], check=True)
    ids.unlink()
    return sorted(folder.iterdir())


@contextmanager
def scratch_copy(wh, name: str) -> Iterator[str]:
    """A private copy of the store for one stage (a file, or a database), removed when it ends."""
    os.sync()
    database = wh.copy(name)
    try:
        yield database
    finally:
        wh.drop(database)


def measured_run(wh, recheck_days: int, work: Path, dag: bool) -> dict:
    """Phase 3: the run after churn, every stage beside its limit summed over the jobs."""
    churned = (*FAST_X, "--rate-limit-window", "60", "--churn", str(CHURN))
    with Emulator(work / "emulator", *churned) as emu:
        env = child_env(work / "airflow", wh.connection(), emu.connection_env())
        (work / "airflow").mkdir()
        run = Runner(emu, env)
        stages = {"export": _export(run, wh, work, recheck_days)}
        parts = sorted((work / "daily").glob("part-*/ids.txt"))
        jobs, per_job = [], []
        for number, ids in enumerate(parts, start=1):
            print(f"job {number}/{len(parts)}", flush=True)
            job, measured = _one_job(emu, run, ids)
            jobs.append(job)
            per_job.append(measured)
        for stage in ("upload", "X's own time", "download", "parse"):
            stages[stage] = _summed([job[stage] for job in per_job])
        stages["apply"] = _apply(run, wh, work, jobs, emu.connection_env())
    dag_result = None
    if dag:
        ids = stages["export"]["ids"]
        dag_result = _dag(work, env, wh, ids=ids, jobs=len(parts), recheck_days=recheck_days, stages=stages)
    shutil.rmtree(work / "daily")
    return {"stages": stages, "dag_run": dag_result}


def _export(run: Runner, wh, work: Path, recheck_days: int) -> dict:
    """Ours writes the run's ID files; the warehouse's CLI writes the same IDs as one file."""
    print("export", flush=True)
    wh.warm()
    ours = run("ours:export_daily", folder=str(work / "daily"), day=DAY, recheck_days=recheck_days)
    cli = work / "cli.txt"
    name, kwargs = wh.export_limit(warehouse.daily_sql(recheck_days), str(cli))
    limit = run(name, **kwargs)
    same = _same_lines(sorted((work / "daily").glob("part-*/ids.txt")), cli)
    cli.unlink()
    id_bytes = sum(part.stat().st_size for part in (work / "daily").glob("part-*/ids.txt"))
    return {"ids": ours["ids"], "bytes": id_bytes, "jobs": ours["jobs"], "ours": ours, "limit": limit,
            "same_ids": same}  # fmt: skip


def _apply(run: Runner, wh, work: Path, jobs: list[dict], x_env: dict[str, str]) -> dict:
    """Every job's results applied to a copy of the store: ours (one transaction, as the DAG),
    then the warehouse's CLI on a fresh copy; both must change the same rows."""
    print("apply", flush=True)
    with scratch_copy(wh, "apply-ours") as copy:
        ours = run("ours:apply_jobs", child_env(work / "airflow", wh.connection(copy), x_env), jobs=jobs)
    with scratch_copy(wh, "apply-limit") as copy:
        name, kwargs = wh.apply_limit(copy, [job["parquet_path"] for job in jobs])
        limit = run(name, **kwargs)
    assert all(ours[k] == limit[k] for k in ("deleted", "geo_scrubbed")), (ours, limit)
    results_bytes = sum(Path(job["parquet_path"]).stat().st_size for job in jobs)
    for job in jobs:
        Path(job["parquet_path"]).unlink()
    return {"ids": ours["results"], "bytes": results_bytes, "ours": ours, "limit": limit}


def _one_job(emu: Emulator, run: Runner, ids: Path) -> tuple[dict, dict]:
    """One job's upload, X's time, download and parse: ours beside the limit's tools."""
    ours_up = run("ours:upload", ids_path=str(ids), resumable=False)
    x_time = emu.wait_complete(ours_up["job_id"])
    limit_up = run("limit:upload", ids_path=str(ids))
    emu.wait_complete(limit_up["job_id"])
    raw, raw_cli = ids.with_suffix(".jsonl"), ids.with_suffix(".cli.jsonl")
    job_id = ours_up["job_id"]
    ours_down = run("ours:download", job_id=job_id, raw_path=str(raw))
    limit_down = run("limit:download", job_id=job_id, raw_path=str(raw_cli))
    parquet = ids.with_suffix(".parquet")
    ours_parse = run("ours:parse", raw_path=str(raw), parquet_path=str(parquet), job_id=job_id)
    limit_parse = run("limit:parse", raw_path=str(raw), parquet_path=str(ids.with_suffix(".pa.parquet")))
    id_bytes, raw_bytes, count = ids.stat().st_size, raw.stat().st_size, ours_up["ids"]
    for scratch in (raw, raw_cli, ids.with_suffix(".pa.parquet")):
        scratch.unlink()
    x_own = {"seconds": x_time, "peak_rss_mb": 0.0, "import_rss_mb": 0.0, "tool": "the emulator"}
    measured = {
        "upload": (ours_up, limit_up, count, id_bytes),
        "X's own time": (x_own, x_own, count, id_bytes),
        "download": (ours_down, limit_down, count, raw_bytes),
        "parse": (ours_parse, limit_parse, count, raw_bytes),
    }
    return {"job_id": job_id, "parquet_path": str(parquet), "ids_path": str(ids)}, measured


def _summed(jobs: list[tuple[dict, dict, int, int]]) -> dict:
    """A stage over every job (ours, limit, IDs, bytes each): seconds, IDs and bytes summed, peak
    RSS the largest, each job's seconds kept."""

    def total(side: list[dict]) -> dict:
        seconds = [r["seconds"] for r in side]
        return {
            "seconds": sum(seconds),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in side),
            "import_rss_mb": max(r.get("import_rss_mb", 0.0) for r in side),
            "per_job_s": [round(s, 3) for s in seconds],
            **({"tool": side[0]["tool"]} if "tool" in side[0] else {}),
        }

    return {
        "jobs": len(jobs),
        "ids": sum(job[2] for job in jobs),
        "bytes": sum(job[3] for job in jobs),
        "ours": total([job[0] for job in jobs]),
        "limit": total([job[1] for job in jobs]),
    }


def _same_lines(parts: list[Path], whole: Path) -> bool:
    """Ours' files, one after another, hold the limit's IDs in the same order."""
    with whole.open("rb") as limit:
        for part in parts:
            with part.open("rb") as ours:
                while chunk := ours.read(1 << 20):
                    if limit.read(len(chunk)) != chunk:
                        return False
        return limit.read(1) == b""


def _dag(work: Path, env: dict, wh, *, ids: int, jobs: int, recheck_days: int, stages: dict) -> dict:
    """The tweets DAG on a copy of the swept store, with X's real 15-minute rate-limit window
    (the run's status calls share it), beside the no-op DAG of its shape."""
    print("the tweets DAG with airflow dags test, and a no-op DAG of its shape", flush=True)
    with (
        Emulator(work / "emulator-dag", *FAST_X, "--churn", str(CHURN)) as emu,
        scratch_copy(wh, "dag-run") as copy,
    ):
        dag_env = {**env, **emu.connection_env()}
        result = dag_run.dag_run(work, dag_env, wh, emu, DAY, ids, jobs=jobs, database=copy,
                                 recheck_days=recheck_days)  # fmt: skip
        result["status_calls"] = emu.admin("stats")["requests"].get("get", 0)
        result["rate_limited"] = emu.admin("stats")["rate_limited"].get("get", 0)
    return dag_run.summary(result, stages)


def bench(n: int, recheck_days: list[int], *, dag: bool, keep: bool, kind: str = "sqlite") -> list[dict]:
    """The phases for each R in ``recheck_days`` (the first two only when not kept from an
    earlier call); prints each table and writes ``results-store-[postgres-]rR-N.json``."""
    work = Path(tempfile.mkdtemp(prefix=f"work-store-{n}-", dir=OUT))
    try:
        with ExitStack() as stack:
            if kind == "postgres":
                wh = stack.enter_context(swept_postgres(n, work))
            else:
                wh = warehouse.SqliteWarehouse(swept(n, work), work)
            return [_measured(wh, n, r, work / f"r{r}", dag) for r in recheck_days]
    finally:
        if keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _measured(wh, n: int, recheck_days: int, work: Path, dag: bool) -> dict:
    """One measured run on the swept store, printed and written to bench/out."""
    work.mkdir()
    document: dict = {"n": n, "store_days": STORE_DAYS, "recheck_days": recheck_days, "churn": CHURN}
    document["warehouse_kind"] = wh.kind
    document["load_average_at_start"] = os.getloadavg()
    document.update(measured_run(wh, recheck_days, work, dag))
    document["load_average_at_end"] = os.getloadavg()
    suffix = "-postgres" if wh.kind == "postgres" else ""
    document["store"] = json.loads((OUT / f"store-{n}{suffix}.json").read_text())
    document["table"] = report.rows(document["stages"])
    print()
    loads = " / ".join(
        " ".join(f"{x:.2f}" for x in document[f"load_average_at_{w}"]) for w in ("start", "end")
    )
    print(f"{wh.kind} store of {n:,} Posts over {STORE_DAYS} days, swept once, then {CHURN:.1%} churn; "
          f"X_COMPLIANCE_RECHECK_DAYS={recheck_days}; load average at start / end {loads}")  # fmt: skip
    print(report.table(document["stages"]["export"]["ids"], document["table"]))
    print(report.limit_commands(document["stages"]))
    if document.get("dag_run"):
        run = document["dag_run"]
        print(report.dag_line(run))
        print(f"  scratch disk at peak {run['scratch_peak_mb']:.0f} MB; status calls {run['status_calls']}, "
              f"429s {run['rate_limited']}")  # fmt: skip
    path = OUT / f"results-store{suffix}-r{recheck_days}-{n}.json"
    report.write_json(path, document)
    print(f"\nwrote {path}")
    return document
