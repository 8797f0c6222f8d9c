"""The audited changes as the page lists them and the CSV export gives them.

Order: newest applied job first, then table, change and reason, descending, then newest row
first. Each apply's rows of one job, table, change and reason are a *segment*
(:mod:`x_compliance.warehouse.runs`) whose size the apply wrote down, so the total is exact
without counting ``compliance_audit`` and a page is found by arithmetic. On SQLite a segment is
a range of rowids, and a page is read as a range of the table's own key, at any depth. Where the
warehouse gives no rowids, a segment is read by its columns, from whichever end is nearer (fast
with :data:`~x_compliance.warehouse.runs.AUDIT_INDEX_DDL`). A files dataset audited to the
warehouse has its own segments and table (``compliance_file_audit``), read the same way with
each row's file and line; one audited as Parquet is a source of its own
(:class:`~x_compliance.ui.files.FilesAudit`), which reads its segments' rows itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from x_compliance.lake.audit_summary import is_files_table
from x_compliance.lake.sql_audit import FILE_AUDIT_TABLE
from x_compliance.ui.files import FILES_FIELDS, FilesAudit
from x_compliance.ui.queries import Warehouse
from x_compliance.warehouse.runs import REASONS, Segment
from x_compliance.warehouse.tables import AUDIT_TABLE, TWEETS, USERS

PAGE_SIZE = 50
CSV_BATCH = 10_000
FIELDS = ("changed_at", "table_name", "record_id", "change", "reason", "job_id", "run_id")
WHERE = ("file", "line")  # a files dataset's rows: where the record was
Source = Warehouse | FilesAudit
MANAGED_TABLES = (TWEETS.name, USERS.name)


@dataclass(frozen=True)
class AuditFilter:
    """What the listing shows: every audited change, or those of one reason, table or job."""

    reason: str = ""
    table: str = ""
    job_id: str = ""

    def params(self, **extra: object) -> dict[str, object]:
        """The query string that shows this filter again (the job is in the path, not here)."""
        return {"reason": self.reason, "table": self.table, **extra}


@dataclass
class AuditPage:
    """The page served (0-based; a page past the end is served as the last one) and the total."""

    filter: AuditFilter
    requested: int
    page: int = 0
    total: int = 0
    rows: list[dict] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # filter values no audit row or rule knows
    reasons: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def first_row(self) -> int:
        """1-based position of the page's first row (0 when there is none)."""
        return self.page * PAGE_SIZE + 1 if self.rows else 0


def segments(wh: Warehouse, flt: AuditFilter) -> tuple[list[Segment], set[str], set[str]]:
    """The segments the filter shows, in listing order, and every reason and table audited."""
    every = wh.segments(flt.job_id)
    chosen = [s for s in every if flt.table in ("", s.table) and flt.reason in ("", s.reason)]
    return chosen, {s.reason for s in every}, {s.table for s in every}


def audit_page(wh: Warehouse, flt: AuditFilter, page: int) -> AuditPage:
    chosen, seen_reasons, seen_tables = segments(wh, flt)
    reasons = sorted(set(REASONS) | seen_reasons)
    tables = sorted(set(getattr(wh, "managed_tables", MANAGED_TABLES)) | seen_tables)
    unknown = [f"reason {flt.reason!r}"] if flt.reason and flt.reason not in reasons else []
    unknown += [f"table {flt.table!r}"] if flt.table and flt.table not in tables else []
    result = AuditPage(flt, requested=page, unknown=unknown, reasons=reasons, tables=tables)
    if unknown:
        return result
    result.total = sum(s.rows for s in chosen)
    result.page = min(page, result.pages - 1)
    skip, want = result.page * PAGE_SIZE, PAGE_SIZE
    for segment in chosen:
        if want == 0:
            break
        if skip >= segment.rows:
            skip -= segment.rows
            continue
        take = min(want, segment.rows - skip)
        result.rows += _read(wh, segment, skip, take)
        skip, want = 0, want - take
    return result


def _table(segment: Segment) -> tuple[str, tuple[str, ...]]:
    """The audit table that holds the segment's rows, and the fields a row shows."""
    return (FILE_AUDIT_TABLE, FIELDS + WHERE) if is_files_table(segment.table) else (AUDIT_TABLE, FIELDS)


def _columns(wh: Warehouse, segment: Segment) -> tuple[str, tuple]:
    where = " AND ".join(f"{c} = {wh.ph}" for c in ("job_id", "table_name", "change", "reason"))
    return where, (segment.job_id, segment.table, segment.change, segment.reason)


def _ranged(wh: Warehouse, segment: Segment) -> bool:
    """Whether the segment has a rowid range that still holds it, checked at both ends (SQLite's
    VACUUM renumbers the rowids of a table that lost rows: the segment is then read by columns)."""
    if segment.first_row is None:
        return False
    where, params = _columns(wh, segment)
    ends = (segment.first_row, segment.last_row)
    sql = f"SELECT COUNT(*) FROM {_table(segment)[0]} WHERE rowid IN ({wh.ph}, {wh.ph}) AND {where}"
    return wh.records(sql, (*ends, *params))[0][0] == len(set(ends))


def _where(wh: Warehouse, segment: Segment, ranged: bool) -> tuple[str, tuple, str]:
    """The segment's rows (by its rowid range too, when ``ranged``) and what orders them."""
    where, params = _columns(wh, segment)
    if not ranged:
        return where, params, "record_id"
    return (
        f"rowid BETWEEN {wh.ph} AND {wh.ph} AND {where}",
        (segment.first_row, segment.last_row, *params),
        "rowid",
    )


def _read(wh: Source, segment: Segment, offset: int, count: int) -> list[dict]:
    """``count`` rows of a segment from ``offset``: a range of rowids, or else read from
    whichever end of the segment is nearer (a Parquet audit reads its own)."""
    if isinstance(wh, FilesAudit):
        return wh.read(segment, offset, count)
    table, fields = _table(segment)
    ranged = _ranged(wh, segment)
    where, params, key = _where(wh, segment, ranged)
    if ranged:
        top = segment.last_row - offset
        params = (max(segment.first_row, top - count + 1), top, *params[2:])
        order, skip = "DESC", 0
    else:
        tail = segment.rows - offset - count
        order, skip = ("DESC", offset) if offset <= tail else ("ASC", tail)
    sql = (
        f"SELECT {', '.join(fields)} FROM {table} WHERE {where} "
        f"ORDER BY {key} {order} LIMIT {int(count)} OFFSET {int(skip)}"
    )
    rows = [dict(zip(fields, row, strict=True)) for row in wh.records(sql, params)]
    return rows if order == "DESC" else rows[::-1]


def csv_name(flt: AuditFilter) -> str:
    """``compliance-audit-tweets-deleted.csv``: what the file holds, in a safe file name."""
    parts = [p for p in (flt.table, flt.reason, flt.job_id and f"job-{flt.job_id}") if p]
    name = "-".join(["compliance-audit", *parts])
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name) + ".csv"


def csv_fields(wh: Source, flt: AuditFilter) -> tuple[str, ...]:
    """The export's columns: a files dataset's say where each record was."""
    if isinstance(wh, FilesAudit):
        return FILES_FIELDS
    return FIELDS + WHERE if is_files_table(flt.table) else FIELDS


def csv_lines(wh: Source, flt: AuditFilter) -> Iterator[str]:
    """The filter's rows as CSV, in the page's order, ``CSV_BATCH`` rows per query (keyset on
    the rowid, or the record id, within each segment; row groups of a Parquet audit): memory
    stays flat however many rows there are."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    fields = csv_fields(wh, flt)
    out.writerow(fields)
    yield flush()
    chosen, _, _ = segments(wh, flt)
    for segment in chosen:
        if isinstance(wh, FilesAudit):
            for rows in wh.batches(segment):
                out.writerows([row.get(f) for f in fields] for row in rows)
                yield flush()
            continue
        table, shown = _table(segment)
        where, filters, key = _where(wh, segment, _ranged(wh, segment))
        select = f"SELECT {key}, {', '.join(shown)} FROM {table} WHERE {where}"
        sql, params = select, filters
        while True:
            rows = wh.records(f"{sql} ORDER BY {key} DESC LIMIT {CSV_BATCH}", params)
            out.writerows(row[1 : 1 + len(fields)] for row in rows)
            yield flush()
            if len(rows) < CSV_BATCH:
                break
            sql, params = f"{select} AND {key} < {wh.ph}", (*filters, rows[-1][0])
