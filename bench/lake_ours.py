"""Ours in the lake benchmark, run by ``child.py`` (bench/lake.py drives them): the files DAG's
export of a sweep and its apply to a Parquet dataset (and the apply's planning pass alone),
twarc2 manifests built, twarc2 files rewritten. The provider is imported with this module,
before the clock starts, as a worker has it loaded before a task runs.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from child import peak_rss_mb

from x_compliance.lake.apply import FilesJob, RunVerdicts, apply_run
from x_compliance.lake.dataset import PARQUET
from x_compliance.lake.export import export_dataset
from x_compliance.lake.journal import SUMMARY_KEY
from x_compliance.lake.manifest import build_manifest
from x_compliance.lake.parquet_dataset import _plan, dataset_files
from x_compliance.lake.parquet_rows import POST_COLUMNS
from x_compliance.lake.rewrite import rewrite_file
from x_compliance.lake.verdicts import Verdicts
from x_compliance.run_steps import DEFAULT_MAX_IDS_PER_JOB
from x_compliance.warehouse.flagged import read_flagged
from x_compliance.warehouse.scope import resolve_scope


def _verdicts(posts: str, users: str) -> Verdicts:

    return Verdicts(posts=read_flagged(posts), users=read_flagged(users, cascades=True))


def _timed_verdicts(posts: str, users: str) -> tuple[Verdicts, dict]:
    """The verdicts, with how long they took to read and the peak RSS once read."""
    started = time.perf_counter()
    verdicts = _verdicts(posts, users)
    return verdicts, {
        "verdicts_s": round(time.perf_counter() - started, 3),
        "verdicts_peak_rss_mb": peak_rss_mb(),
    }


def _audited(audit: pd.DataFrame) -> dict:
    """The changes by kind, and what the returned audit weighs (it grows with the changes)."""
    return {
        "changes": {str(k): int(v) for k, v in audit["change"].value_counts().sort_index().items()},
        "audit_mb": round(audit.memory_usage(deep=True).sum() / 1e6, 1),
    }


def parquet_export(root: str, out: str) -> dict:
    """The files DAG's export of a sweep of every record: each Post ID and author ID once, as
    the jobs' ID files (at most the default 5M IDs a job)."""
    scope, _ = resolve_scope({"mode": "sweep"}, logical_date=None, run_after=None, recheck_days=1)
    parts = export_dataset(root, PARQUET, scope, out, max_ids_per_job=DEFAULT_MAX_IDS_PER_JOB)
    sent = Counter()
    for part in parts:
        sent[part["job_type"]] += part["ids"]
    return {"ids_sent": dict(sent), "parts": len(parts)}


def parquet_ours(root: str, posts: str, users: str, posts_sent: str, users_sent: str) -> dict:
    """The files DAG's apply over the whole dataset: the jobs' verdicts read and checked
    against the IDs sent (``RunVerdicts``), then every file changed, its audit journaled before
    its swap, and the audit stored beside the dataset (``apply_run``)."""
    jobs = [FilesJob("1", "tweets", posts, posts_sent), FilesJob("2", "users", users, users_sent)]
    started = time.perf_counter()
    run = RunVerdicts(jobs)
    read = {"verdicts_s": round(time.perf_counter() - started, 3), "verdicts_peak_rss_mb": peak_rss_mb()}
    applied = apply_run(root, PARQUET, run, jobs, run_id="bench")
    with open(applied["audit_path"].removeprefix("file://"), "rb") as fh:
        footer = json.loads(pq.read_metadata(fh).metadata[SUMMARY_KEY])
    changes: Counter[str] = Counter()
    for segment in footer["segments"]:
        changes[segment[4]] += segment[6]
    return {**read, "changes": dict(sorted(changes.items())), "audit_rows": applied["audit_rows"]}


def parquet_plan(root: str, posts: str, users: str) -> dict:
    """Ours' planning pass alone over every file (nothing written): its time, verdicts not counted."""
    verdicts = _verdicts(posts, users)
    started = time.perf_counter()
    groups = sum(len(_plan(path, verdicts, POST_COLUMNS)) for path in dataset_files(root))
    return {"seconds": time.perf_counter() - started, "row_groups_to_change": groups}


def _jsonl(root: str) -> list[Path]:
    return sorted(Path(root).glob("*.jsonl"))


def twarc_manifests(root: str) -> dict:
    """Every file's manifest built (each line read and checked, its IDs stored)."""
    return {"files": len([build_manifest(path) for path in _jsonl(root)])}


def twarc_rewrite(root: str, posts: str, users: str) -> dict:
    """The verdicts read, then ``rewrite_file`` over every file, its manifest current."""
    verdicts, read = _timed_verdicts(posts, users)
    audit = pd.concat([rewrite_file(path, verdicts) for path in _jsonl(root)], ignore_index=True)
    return {**read, **_audited(audit)}
