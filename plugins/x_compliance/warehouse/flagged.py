"""A job's flagged records as a pandas DataFrame, and what each one asks of the record.

The results are read in batches into DataFrames with Arrow-backed columns (``id`` int64,
``reason`` dictionary-encoded, as Parquet stores it), each batch checked by the ID rule. Only
those two columns are kept, and then what each record asks: about 13 bytes a result, so 1M
results hold 13 MB whatever the size of the table they are applied to. :func:`decide` is the
rule of what a reason asks: the warehouse apply and
:func:`~x_compliance.warehouse.frames.remove_flagged` both go through it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from x_compliance.exceptions import MalformedResultError, XComplianceError
from x_compliance.files.arrow import to_numpy
from x_compliance.files.id_files import iter_id_blocks
from x_compliance.files.ids import first_bad_id, id_problem, id_values
from x_compliance.files.results import KNOWN_REASONS
from x_compliance.files.sorted_ids import find_sorted
from x_compliance.files.storage_paths import open_source
from x_compliance.warehouse.tables import CASCADE_REASONS, REMOVE, SCRUB, SCRUB_REASONS

log = logging.getLogger(__name__)

BATCH_ROWS = 50_000
ID_CHUNK_BYTES = 2 << 20
ID = pd.ArrowDtype(pa.int64())
# The staged columns: ``change`` is one of CHANGES, ``cascades`` says the record's removal
# takes the rows it owns with it (an account's Posts).
COLUMNS = ["id", "reason", "change", "cascades"]
CHANGES = pa.array([REMOVE, SCRUB])
_REASON = pa.dictionary(pa.int32(), pa.string())


def iter_result_frames(source: Any, *, job_id: str | None = None) -> Iterator[pd.DataFrame]:
    """The results file (Parquet, as the download step writes it), ``BATCH_ROWS`` rows at a
    time: ``id`` and ``reason``, checked (:func:`checked_results`), in the file's order."""
    name, row = str(source), 0
    with open_source(source) as fh:
        # Batch by batch on one thread, nothing read ahead: each of those holds tens of MB more.
        results = pq.ParquetFile(fh, pre_buffer=False, read_dictionary=["reason"])
        batches = results.iter_batches(BATCH_ROWS, columns=["id", "reason"], use_threads=False)
        with closing(batches):
            for batch in batches:
                # pyarrow's allocator (mimalloc) keeps what a batch freed; handed back, the peak
                # is one batch instead of growing with the file.
                pa.default_memory_pool().release_unused()
                yield checked_results(batch, name=name, first_row=row, job_id=job_id)
                row += batch.num_rows
    pa.default_memory_pool().release_unused()  # the last batch's too, before the sort


def checked_results(
    results: pa.RecordBatch | pa.Table, *, name: str, first_row: int = 0, job_id: str | None = None
) -> pd.DataFrame:
    """``results`` (``id`` as text or integers, ``reason``) as a DataFrame of ``id`` int64 and
    ``reason``; the first value that is no ID (:func:`~x_compliance.files.ids.id_problem`) or
    a missing reason fails it, naming row ``first_row`` + its position, 1-based, as its line."""
    ids, reasons = results.column("id"), results.column("reason")
    text = pc.cast(ids, pa.string())  # integers too: "-5" fails the rule as it should
    bad = first_bad_id(text) if len(text) else None  # it reads an empty column as a bad one
    if bad is not None:
        value = text[bad].as_py()
        why = "missing 'id'" if value is None else f"invalid 'id': {id_problem(value)}"
        raise MalformedResultError(name, first_row + bad + 1, f"id={value!r}", why, job_id=job_id)
    if reasons.null_count:
        at = pc.index(pc.is_null(reasons), True).as_py()
        raise MalformedResultError(
            name, first_row + at + 1, f"id={text[at].as_py()!r}", "missing 'reason'", job_id=job_id
        )
    if not pa.types.is_dictionary(reasons.type):  # Parquet's are; a DataFrame's may be anything
        reasons = pc.cast(reasons, pa.string())
    columns = {"id": pc.cast(text, pa.int64()), "reason": pc.cast(reasons, _REASON)}
    return pa.table(columns).to_pandas(types_mapper=pd.ArrowDtype)


def first_per_id(results: pd.DataFrame) -> pd.DataFrame:
    """One row per ID, sorted by ID: the first row the results give for it (X may repeat one).

    A stable sort keeps an ID's rows in their order, so the first of each run of equal IDs is
    the one to keep; a file with no repeat (as the download step writes it) is not copied again.
    Sorted by Arrow on the frame's own columns: ``sort_values`` would go through numpy and
    back, holding one more copy of them at its peak.
    """
    ordered = pa.Table.from_pandas(results, preserve_index=False).sort_by("id")
    ids = to_numpy(ordered.column("id"))
    first = np.ones(len(ids), dtype=bool)
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    if not first.all():
        ordered = ordered.filter(pa.array(first))
    return ordered.to_pandas(types_mapper=pd.ArrowDtype)


def decide(flagged: pd.DataFrame, *, cascades: bool, job_id: str | None = None) -> pd.DataFrame:
    """``flagged`` with what each reason asks (see :mod:`~x_compliance.warehouse.tables`):
    ``change`` is ``scrub`` for ``scrub_geo`` and ``delete`` for every other reason, those X
    may add later included (logged); ``cascades``, for a table whose records own rows
    elsewhere (``cascades=True``: accounts), marks the removed records whose rows go too.

    Each distinct reason is decided once and its rows take the answer by their code
    (``isin`` on the column itself would first decode it into a string per row).
    """
    unknown = sorted(set(flagged["reason"].unique()) - KNOWN_REASONS)
    if unknown:
        who = f"Job {job_id} sent" if job_id is not None else "X's results name"
        log.warning("%s reasons this version does not know: %s; their rows are removed", who, unknown)
    codes, reasons = flagged["reason"].factorize()
    scrubbed = reasons.isin(SCRUB_REASONS)
    scrub = scrubbed[codes]
    owned = reasons.isin(CASCADE_REASONS) & ~scrubbed if cascades else np.zeros(len(reasons), dtype=bool)
    change = pa.DictionaryArray.from_arrays(pa.array(scrub.view(np.int8)), CHANGES)
    return flagged.assign(
        change=pd.arrays.ArrowExtensionArray(change),
        cascades=pd.arrays.ArrowExtensionArray(pa.array(owned[codes])),
    )


def read_flagged(results: Any, *, job_id: str | None = None, cascades: bool = False) -> pd.DataFrame:
    """Every flagged record of a job: one row per ID, sorted, with what it asks (:func:`decide`).

    ``results``: the Parquet file the download step writes (a path or ``ObjectStoragePath``),
    read in batches; or X's results already in a DataFrame (``id`` and ``reason`` columns).
    """
    if isinstance(results, pd.DataFrame):
        table = pa.Table.from_pandas(results[["id", "reason"]], preserve_index=False)
        frames = [checked_results(table, name="the results DataFrame", job_id=job_id)]
    else:
        frames = list(iter_result_frames(results, job_id=job_id))
    every = pd.concat(frames, ignore_index=True) if frames else _empty()
    frames.clear()
    unique = first_per_id(every)
    del every
    pa.default_memory_pool().release_unused()  # what sorting freed, back to the system
    return decide(unique, cascades=cascades, job_id=job_id)


def _empty() -> pd.DataFrame:
    return pa.table({"id": pa.array([], pa.int64()), "reason": pa.array([], _REASON)}).to_pandas(
        types_mapper=pd.ArrowDtype
    )


def per_reason(flagged: pd.DataFrame) -> dict[str, int]:
    """How many records each reason flagged, by reason name."""
    counts = flagged["reason"].value_counts()
    return {str(reason): int(n) for reason, n in sorted(counts.items()) if n}


NOTHING_APPLIED = "nothing was applied"


def flagged_digest(flagged: pd.DataFrame) -> str:
    """A digest of ``flagged``'s IDs and reasons, in order (what each asks follows from them)."""
    codes, reasons = flagged["reason"].factorize()
    digest = hashlib.blake2b(flagged["id"].to_numpy(np.int64).tobytes(), digest_size=16)
    digest.update(codes.astype(np.int64).tobytes())
    digest.update("\n".join(map(str, reasons)).encode())
    return digest.hexdigest()


def check_all_uploaded(flagged: pd.DataFrame, ids_path: Any, *, job_id: str) -> None:
    """Every result must be an ID we sent: anything else means the wrong file or the wrong job.

    The ID file is read with the same reader (and rule) as the upload; ``flagged`` is sorted
    by ID with one row each (:func:`first_per_id`).
    """
    wanted = flagged["id"].to_numpy(np.int64)
    found = np.zeros(len(wanted), dtype=bool)
    if len(wanted):
        read = iter_id_blocks(ids_path, block_size=ID_CHUNK_BYTES, job_id=job_id, outcome=NOTHING_APPLIED)
        with closing(read):
            for normalized, _, _ in read:
                sent = id_values(normalized)
                at, hit = find_sorted(wanted, sent)
                found[at[hit]] = True
    if not found.all():
        stray = wanted[~found][:5].tolist()
        raise XComplianceError(
            f"job {job_id}: {int((~found).sum())} result id(s) were never uploaded in "
            f"{ids_path} (e.g. {stray}); refusing to apply results from another job"
        )
