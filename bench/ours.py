"""Our code, one stage per function, each called in its own interpreter by ``child.py``.

Each stage imports only what it needs and then notes the RSS, so the report can separate
what loading Airflow, pandas and pyarrow costs from what the stage itself holds.
"""

from __future__ import annotations

import time

from child import peak_rss_mb as _loaded  # peak RSS once the stage's imports are done


def export(destination: str, start: str, end: str) -> dict:
    from airflow.sdk import BaseHook

    from x_compliance.warehouse.export import export_ids
    from x_compliance.warehouse.tables import TWEETS

    loaded, started = _loaded(), time.perf_counter()
    hook = BaseHook.get_hook("warehouse_default")
    report = export_ids(hook, TWEETS, destination, start=start, end=end)
    return {"seconds": time.perf_counter() - started, "import_rss_mb": loaded, "ids": report["ids"]}


def export_daily(folder: str, day: str, recheck_days: int = 7) -> dict:
    """The daily run's export for ``day``: the Posts created that day + its rotation share."""
    from airflow.sdk import BaseHook

    from x_compliance.warehouse.export import export_scope
    from x_compliance.warehouse.run import max_ids_per_job_from_env
    from x_compliance.warehouse.scope import resolve_scope
    from x_compliance.warehouse.tables import TWEETS

    loaded, started = _loaded(), time.perf_counter()
    scope, _ = resolve_scope({"date": day}, logical_date=None, run_after=None, recheck_days=recheck_days)
    hook = BaseHook.get_hook("warehouse_default")
    parts = export_scope(hook, TWEETS, scope, folder, max_ids_per_job=max_ids_per_job_from_env())
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "import_rss_mb": loaded,
        "ids": sum(p["ids"] for p in parts),
        "jobs": len(parts),
    }


def upload(ids_path: str, resumable: bool) -> dict:
    from x_compliance.hooks.x_compliance import XComplianceHook
    from x_compliance.operators.steps import upload_ids

    hook = XComplianceHook()
    job = hook.create_job("tweets", resumable=resumable)
    loaded, started = _loaded(), time.perf_counter()
    report = upload_ids(hook, job, ids_path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "import_rss_mb": loaded, "job_id": job.id, "ids": report.ids}


def download(job_id: str, raw_path: str) -> dict:
    from x_compliance.hooks.x_compliance import XComplianceHook

    hook = XComplianceHook()
    job = hook.get_job(job_id)
    loaded, started = _loaded(), time.perf_counter()
    report = hook.download_results(job, raw_path)
    return {"seconds": time.perf_counter() - started, "import_rss_mb": loaded, "bytes": report.bytes}


def parse(raw_path: str, parquet_path: str, job_id: str) -> dict:
    from x_compliance.files.normalize import write_results_parquet

    loaded, started = _loaded(), time.perf_counter()
    counts = write_results_parquet(raw_path, parquet_path, job_id=job_id)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "import_rss_mb": loaded, "rows": sum(counts.values())}


def apply(parquet_path: str, ids_path: str, job_id: str) -> dict:
    return apply_jobs([{"parquet_path": parquet_path, "ids_path": ids_path, "job_id": job_id}])


def apply_jobs(jobs: list[dict], run_id: str = "bench") -> dict:
    """Every job of a run applied as the DAG applies them: one transaction (``apply_jobs``)."""
    from airflow.sdk import BaseHook

    from x_compliance.warehouse.apply import JobResults, apply_jobs
    from x_compliance.warehouse.tables import TWEETS

    loaded, started = _loaded(), time.perf_counter()
    hook = BaseHook.get_hook("warehouse_default")
    runs = [JobResults(job["job_id"], job["parquet_path"], job["ids_path"]) for job in jobs]
    summaries = apply_jobs(hook, TWEETS, runs, run_id=run_id)
    seconds = time.perf_counter() - started
    counts = {key: sum(s[key] for s in summaries) for key in ("results", "deleted", "geo_scrubbed")}
    return {"seconds": seconds, "import_rss_mb": loaded, "jobs": len(runs), **counts}
