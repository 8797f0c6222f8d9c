"""Turn a job's raw JSON-lines results into the normalized results file (Parquet).

The file has one row per non-compliant ID, duplicates removed (the first line for an ID wins),
with columns ``id`` (string, as on the wire), ``reason``, ``action``, ``created_at`` and
``redacted_at`` (UTC timestamps, the latter often null). It is written whole or not at all.
"""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from x_compliance.files.results import RESULTS_SCHEMA, count_reasons, iter_result_tables

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
