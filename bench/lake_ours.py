"""Ours in the lake benchmark, run by ``child.py`` (bench/lake.py drives them): the verdicts
applied to a Parquet dataset (and its planning pass alone), twarc2 manifests built, twarc2
files rewritten. The provider is imported with this module, before the clock starts, as a
worker has it loaded before a task runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from child import peak_rss_mb

from x_compliance.lake.manifest import build_manifest
from x_compliance.lake.parquet_dataset import _plan, apply_to_parquet_dataset, dataset_files
from x_compliance.lake.parquet_rows import POST_COLUMNS
from x_compliance.lake.rewrite import rewrite_file
from x_compliance.lake.verdicts import Verdicts
from x_compliance.warehouse.flagged import read_flagged


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


def parquet_ours(root: str, posts: str, users: str) -> dict:
    """The verdicts read, then ``apply_to_parquet_dataset`` over the whole dataset."""
    verdicts, read = _timed_verdicts(posts, users)
    return {**read, **_audited(apply_to_parquet_dataset(root, verdicts))}


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
