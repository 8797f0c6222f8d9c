"""Deterministic job names, so a retried task finds the job it already created.

X caps names at 64 characters and Airflow ids are longer than that, so the name is a readable
prefix plus a hash of the full identity (dag, task, run, map index).
"""

from __future__ import annotations

import hashlib
from typing import Any

from x_compliance.hooks.x_compliance import MAX_NAME_LENGTH

_HASH_LENGTH = 16


def job_name(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    identity = f"{dag_id}\x1f{task_id}\x1f{run_id}\x1f{map_index}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:_HASH_LENGTH]
    prefix = f"{dag_id}.{task_id}"[: MAX_NAME_LENGTH - _HASH_LENGTH - 1]
    return f"{prefix}.{digest}"


def job_name_from_context(context: Any) -> str:
    ti = context["ti"]
    map_index = getattr(ti, "map_index", None)
    return job_name(ti.dag_id, ti.task_id, ti.run_id, -1 if map_index is None else map_index)


def next_name(name: str) -> str:
    """The name of the job replacing the lapsed job ``name``: ``x`` → ``x~1`` → ``x~2``.

    It must differ from the lapsed job's name: that job may still read as ``created`` until X
    marks it expired, and a same-named active job would be "reused".
    """
    stem, sep, number = name.rpartition("~")
    if sep and number.isascii() and number.isdigit():
        attempt = int(number) + 1
    else:
        stem, attempt = name, 1
    suffix = f"~{attempt}"
    return stem[: MAX_NAME_LENGTH - len(suffix)] + suffix
