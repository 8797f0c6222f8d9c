"""Turn a job's raw JSON-lines results into the normalized results file (Parquet).

The file has one row per non-compliant ID, duplicates removed (the first line for an ID wins),
with columns ``id`` (string, as on the wire), ``reason``, ``action``, ``created_at`` and
``redacted_at`` (UTC timestamps, the latter often null). It is written whole or not at all.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from x_compliance.jobs import ComplianceJob
from x_compliance.results import iter_results
from x_compliance.results_arrow import RESULTS_SCHEMA, count_reasons, iter_result_tables
from x_compliance.storage_paths import publish

__all__ = ["RESULTS_SCHEMA", "normalize_results", "write_results_parquet"]

log = logging.getLogger(__name__)

BATCH_ROWS = 100_000


def write_results_parquet(raw_file: Path, parquet_file: Path, *, job_id: str) -> Counter[str]:
    """Parse ``raw_file`` in batches into ``parquet_file``; return the count of rows per reason.

    pyarrow reads the file when it is plainly valid (as X's files are); anything else is read
    again line by line, which reads what it can and names the line it cannot.
    """
    try:
        return _write_fast(raw_file, parquet_file)
    except Exception as exc:  # whatever stopped pyarrow, the line reader has the last word
        log.info("Reading %s line by line (%s: %s)", raw_file, type(exc).__name__, exc)
    return _write_line_by_line(raw_file, parquet_file, job_id=job_id)


def _write_fast(raw_file: Path, parquet_file: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    pending: list[pa.Table] = []
    # A dictionary only pays for the few distinct reasons and actions; ids and timestamps are
    # nearly all distinct, and trying a dictionary on them costs as much as the parsing.
    with pq.ParquetWriter(parquet_file, RESULTS_SCHEMA, use_dictionary=["reason", "action"]) as writer:
        # Row groups of about BATCH_ROWS, as the line reader writes them, not one per block.
        for table in iter_result_tables(raw_file):
            count_reasons(table, counts)
            pending.append(table)
            if sum(len(t) for t in pending) >= BATCH_ROWS:
                writer.write_table(pa.concat_tables(pending))
                pending.clear()
        if pending or not counts:
            writer.write_table(pa.concat_tables(pending) if pending else RESULTS_SCHEMA.empty_table())
    return counts


def _write_line_by_line(raw_file: Path, parquet_file: Path, *, job_id: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    columns: dict[str, list] = {name: [] for name in RESULTS_SCHEMA.names}
    with pq.ParquetWriter(parquet_file, RESULTS_SCHEMA) as writer:

        def flush() -> None:
            writer.write_table(pa.Table.from_pydict(columns, schema=RESULTS_SCHEMA))
            for values in columns.values():
                values.clear()

        for result in iter_results(raw_file, job_id=job_id, unique=True):
            columns["id"].append(result.id)
            columns["reason"].append(result.reason)
            columns["action"].append(result.action)
            columns["created_at"].append(result.created_at)
            columns["redacted_at"].append(result.redacted_at)
            counts[result.reason] += 1
            if len(columns["id"]) >= BATCH_ROWS:
                flush()
        flush()
    return counts


def normalize_results(hook: Any, job: ComplianceJob, results_path: Any) -> dict[str, Any]:
    """Download, parse and publish the results of ``job``; return a small XCom-safe summary."""
    with tempfile.TemporaryDirectory(prefix=f"x-compliance-{job.id}-") as scratch:
        raw = Path(scratch) / "results.jsonl"
        report = hook.download_results(job, raw)
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
