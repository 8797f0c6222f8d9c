"""The IDs a files run sends X, read from the files' ID manifests: Post IDs to a tweets job,
user IDs (accounts, authors, mentions) to a users job, each ID once however many files hold it.

A daily run for UTC date D sends the records created on D, which a Post's ID tells (X's IDs
are snowflakes: milliseconds since X's epoch in the high bits, as ``created_at``), and every
record in D's rotation slot (:mod:`~x_compliance.warehouse.rotation`): any
``X_COMPLIANCE_RECHECK_DAYS`` consecutive daily runs check every stored record, however late
its file was added. A sweep sends the records created in a range, or every one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from x_compliance.files.arrow import from_numpy, text_lines
from x_compliance.lake.dataset import DataFormat, data_files
from x_compliance.lake.distinct_ids import DistinctIds
from x_compliance.lake.manifest import POST_ID, USER_ID
from x_compliance.warehouse.export import write_parts
from x_compliance.warehouse.rotation import SLOT_MODULUS

log = logging.getLogger(__name__)

TWEPOCH_MS = 1_288_834_974_657  # X's snowflake epoch
JOB_TYPES = {POST_ID: "tweets", USER_ID: "users"}
CHUNK_IDS = 200_000  # IDs formatted and written at a time (a larger chunk only holds more)


def snowflake_bound(day: date) -> int:
    """The first ID made at midnight UTC starting ``day``."""
    ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return max(ms - TWEPOCH_MS, 0) << 22


def scope_mask(scope: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Which IDs of an array ``scope`` checks (:mod:`~x_compliance.warehouse.scope`)."""
    if scope["kind"] == "daily":
        day = date.fromisoformat(scope["date"])
        low, high = snowflake_bound(day), snowflake_bound(day + timedelta(days=1))
        days, slot = scope["recheck_days"], scope["rotation_slot"]
        return lambda ids: ((ids >= low) & (ids < high)) | ((ids % SLOT_MODULUS) % days == slot)
    low = snowflake_bound(date.fromisoformat(scope["created_from"])) if scope["created_from"] else 0
    if not scope["created_to"]:
        return lambda ids: ids >= low
    high = snowflake_bound(date.fromisoformat(scope["created_to"]) + timedelta(days=1))
    return lambda ids: (ids >= low) & (ids < high)


def export_dataset(
    root: Any, data: DataFormat, scope: dict[str, Any], folder: Any, *, max_ids_per_job: int
) -> list[dict[str, Any]]:
    """Write what ``scope`` checks as ID files of at most ``max_ids_per_job`` IDs, one per X job:
    ``folder/tweets/part-0001/ids.txt``, ...; ``[{"ids_path", "results_path", "ids", "job_type"}]``.
    Each ID goes once (:class:`~x_compliance.lake.distinct_ids.DistinctIds`), in memory bounded
    by a share of the IDs, not all of them."""
    wanted = scope_mask(scope)
    parts: list[dict[str, Any]] = []
    root_folder = str(folder).rstrip("/")
    files = 0
    with DistinctIds() as posts, DistinctIds() as users:
        found = {POST_ID: posts, USER_ID: users}
        for path in data_files(root, data):
            files += 1
            for ids, kinds in data.records(path):
                checked = wanted(ids)
                for kind, distinct in found.items():
                    distinct.add(ids[checked & (kinds == kind)])
        for kind, distinct in found.items():
            job_type = JOB_TYPES[kind]

            def destination(part: int, job_type: str = job_type) -> str:
                return f"{root_folder}/{job_type}/part-{part:04d}/ids.txt"

            chunked = distinct.chunks(CHUNK_IDS)
            for part in write_parts(job_type, chunked, _id_lines, destination, max_ids_per_job):
                results = part["ids_path"].rsplit("/", 1)[0] + "/results.parquet"
                parts.append({**part, "results_path": results, "job_type": job_type})
    log.info(
        "Exported %s from %d file(s) (%s): %s",
        data.name,
        files,
        scope["checked"],
        ", ".join(f"{p['ids']:,} {p['job_type']} IDs" for p in parts) or "nothing to check",
    )
    return parts


def _id_lines(values: np.ndarray, *, first_row: int) -> bytes:
    return text_lines(from_numpy(values))
