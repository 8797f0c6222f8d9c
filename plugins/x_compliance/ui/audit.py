"""The audited changes as the page lists them and the CSV export gives them.

Order: newest applied job first, then table, change, reason and record id, descending. Each
job's rows of one table, change and reason are a *segment* whose size the per-job counts
already know (:meth:`Warehouse.audit_counts`), so the total is exact without counting
``compliance_audit``, a page is found by arithmetic, and reading it is a range of the page's
index (:data:`x_compliance.warehouse.runs.INDEX_DDL`), entered from whichever end of the
segment is nearer: however deep the page, filtered or not, no read passes over more than half
a segment, and only in the index.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from x_compliance.ui.queries import Warehouse
from x_compliance.warehouse.runs import REASONS
from x_compliance.warehouse.tables import AUDIT_TABLE, TWEETS, USERS

PAGE_SIZE = 50
CSV_BATCH = 10_000
FIELDS = ("changed_at", "table_name", "record_id", "change", "reason", "job_id", "run_id")
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


@dataclass(frozen=True)
class Segment:
    """One job's audited rows of one table, change and reason."""

    job_id: str
    table: str
    change: str
    reason: str
    rows: int


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
    counts = wh.audit_counts(wh.jobs(flt.job_id))
    chosen, reasons, tables = [], set(), set()
    for job_id, per_kind in counts.items():
        for (table, change, reason), n in sorted(per_kind.items(), reverse=True):
            reasons.add(reason)
            tables.add(table)
            if n and flt.table in ("", table) and flt.reason in ("", reason):
                chosen.append(Segment(job_id, table, change, reason, n))
    return chosen, reasons, tables


def audit_page(wh: Warehouse, flt: AuditFilter, page: int) -> AuditPage:
    chosen, seen_reasons, seen_tables = segments(wh, flt)
    reasons = sorted(set(REASONS) | seen_reasons)
    tables = sorted(set(MANAGED_TABLES) | seen_tables)
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


def _where(wh: Warehouse, segment: Segment) -> tuple[str, tuple]:
    where = " AND ".join(f"{c} = {wh.ph}" for c in ("job_id", "table_name", "change", "reason"))
    return where, (segment.job_id, segment.table, segment.change, segment.reason)


def _read(wh: Warehouse, segment: Segment, offset: int, count: int) -> list[dict]:
    """``count`` rows of a segment from ``offset``, read from whichever end is nearer."""
    tail = segment.rows - offset - count
    order, skip = ("DESC", offset) if offset <= tail else ("ASC", tail)
    where, params = _where(wh, segment)
    sql = (
        f"SELECT {', '.join(FIELDS)} FROM {AUDIT_TABLE} WHERE {where} "
        f"ORDER BY record_id {order} LIMIT {int(count)} OFFSET {int(skip)}"
    )
    rows = [dict(zip(FIELDS, row, strict=True)) for row in wh.records(sql, params)]
    return rows if order == "DESC" else rows[::-1]


def csv_name(flt: AuditFilter) -> str:
    """``compliance-audit-tweets-deleted.csv``: what the file holds, in a safe file name."""
    parts = [p for p in (flt.table, flt.reason, flt.job_id and f"job-{flt.job_id}") if p]
    name = "-".join(["compliance-audit", *parts])
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name) + ".csv"


def csv_lines(wh: Warehouse, flt: AuditFilter) -> Iterator[str]:
    """The filter's rows as CSV, in the page's order, ``CSV_BATCH`` rows per query (keyset on
    the record id within each segment): memory stays flat however many rows there are."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    out.writerow(FIELDS)
    yield flush()
    chosen, _, _ = segments(wh, flt)
    for segment in chosen:
        where, filters = _where(wh, segment)
        select = f"SELECT {', '.join(FIELDS)} FROM {AUDIT_TABLE} WHERE {where}"
        sql, params = select, filters
        while True:
            rows = wh.records(f"{sql} ORDER BY record_id DESC LIMIT {CSV_BATCH}", params)
            out.writerows(rows)
            yield flush()
            if len(rows) < CSV_BATCH:
                break
            sql, params = f"{select} AND record_id < {wh.ph}", (*filters, rows[-1][FIELDS.index("record_id")])
