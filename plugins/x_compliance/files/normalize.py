"""Turn a job's raw JSON-lines results into the normalized results file (Parquet).

The file has one row per non-compliant ID, duplicates removed (the first line for an ID wins),
with columns ``id`` (string, as on the wire), ``reason``, ``action``, ``created_at`` and
``redacted_at`` (UTC timestamps, the latter often null). It is written whole or not at all.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from x_compliance.files.results import RESULTS_SCHEMA, count_reasons, iter_result_tables
from x_compliance.files.storage_paths import publish
from x_compliance.hooks.jobs import ComplianceJob

__all__ = ["RESULTS_SCHEMA", "normalize_results", "write_results_parquet"]

log = logging.getLogger(__name__)

BATCH_ROWS = 100_000


def write_results_parquet(raw_file: Path, parquet_file: Path, *, job_id: str) -> Counter[str]:
    """Parse ``raw_file`` in batches into ``parquet_file``; return the count of rows per reason.

    Raises ``MalformedResultError`` or ``LineTooLongError`` naming the line; the caller removes
    the half-written file.
    """
    counts: Counter[str] = Counter()
    pending: list[pa.Table] = []
    # A dictionary only pays for the few distinct reasons and actions; ids and timestamps are
    # nearly all distinct, and trying a dictionary on them costs as much as the parsing.
    with pq.ParquetWriter(parquet_file, RESULTS_SCHEMA, use_dictionary=["reason", "action"]) as writer:
        with closing(iter_result_tables(raw_file, job_id=job_id)) as tables:
            for table in tables:
                count_reasons(table, counts)
                pending.append(table)
                if sum(len(t) for t in pending) >= BATCH_ROWS:  # row groups of about BATCH_ROWS
                    writer.write_table(pa.concat_tables(pending))
                    pending.clear()
        if pending or not counts:
            writer.write_table(pa.concat_tables(pending) if pending else RESULTS_SCHEMA.empty_table())
    return counts


def normalize_results(
    hook: Any,
    job: ComplianceJob,
    results_path: Any,
    *,
    max_bytes: int | None = None,
    uploaded_ids: int | None = None,
) -> dict[str, Any]:
    """Download, parse and publish the results of ``job``; return a small XCom-safe summary.

    Both scratch files live in one temporary folder that is removed however the step ends.
    """
    with tempfile.TemporaryDirectory(prefix=f"x-compliance-{job.id}-") as scratch:
        raw = Path(scratch) / "results.jsonl"
        report = hook.download_results(job, raw, max_bytes=max_bytes, uploaded_ids=uploaded_ids)
        parquet = Path(scratch) / "results.parquet"
        counts = write_results_parquet(raw, parquet, job_id=job.id)
        destination = publish(parquet, results_path)
    rows = sum(counts.values())
    hook.log.info(
        "Job %s: %s non-compliant IDs (%s) written to %s",
        job.id,
        f"{rows:,}",
        ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items())) or "none",
        destination,
    )
    return {
        "job_id": job.id,
        "job_type": job.type.value,
        "path": str(destination),
        "rows": rows,
        "counts": dict(sorted(counts.items())),
        "downloaded_bytes": report.bytes,
    }
