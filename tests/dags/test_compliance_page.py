"""The Compliance page's figures against a warehouse history written the way applies write it
(``compliance_runs`` rows, ``compliance_audit`` rows and their segments: rowid ranges as on
SQLite, columns only as on PostgreSQL, or none, as before the segments table existed), read
back with plain SQL: the pager's pages, totals and filters, the CSV export, coverage, the
flagged chart and a job applied again."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime

import pytest

from x_compliance.ui import audit, charts, pages
from x_compliance.ui.audit import PAGE_SIZE, AuditFilter, audit_page, csv_lines
from x_compliance.ui.coverage import coverage
from x_compliance.ui.queries import Warehouse, warehouse_hook
from x_compliance.warehouse.apply import AUDIT_COLUMNS, AUDIT_DDL
from x_compliance.warehouse.rotation import slot_of_date
from x_compliance.warehouse.runs import (
    COLUMNS,
    REASONS,
    RUNS_DDL,
    SEGMENTS_DDL,
    Segment,
    record_run,
    record_segments,
)

TWEETS_RUN = {"dag_id": "x_compliance_tweets", "job_type": "tweets", "table_name": "tweets"}
USERS_RUN = {"dag_id": "x_compliance_users", "job_type": "users", "table_name": "users"}
SWEEP = {"scope_kind": "sweep", "scope_label": "every row (sweep)"}
T, U = "tweets", "users"


def _daily(day: str) -> dict:
    slot = slot_of_date(datetime.fromisoformat(day).date(), 7)
    label = f"rows created on {day} and rotation slot {slot} of 7"
    kind = "new rows + rotation share"
    return {
        "scope_kind": kind,
        "scope_date": day,
        "rotation_slot": slot,
        "recheck_days": 7,
        "scope_label": label,
    }


def _job(scope: dict, run_id: str, applied: str, flagged: dict, audited: dict) -> tuple[dict, dict]:
    """(compliance_runs fields, audited rows per (table, change, reason)) of one applied job."""
    fields = {**scope, "run_id": run_id, "applied_at": f"2026-11-{applied}:00:00.000Z"}
    return fields | {f"flagged_{reason}": n for reason, n in flagged.items()}, audited


HISTORY = {
    "2100000000000000001": _job(
        {**TWEETS_RUN, **_daily("2026-11-18")}, "scheduled__2026-11-19", "19T06",
        {"deleted": 31, "scrub_geo": 9, "suspended": 13},
        {(T, "deleted", "deleted"): 30, (T, "geo_scrubbed", "scrub_geo"): 7, (T, "deleted", "suspended"): 13},
    ),
    "2100000000000000002": _job(
        {**USERS_RUN, **SWEEP}, "manual__users", "19T09", {"deleted": 5, "scrub_geo": 2},
        {(U, "deleted", "deleted"): 5, (T, "cascade_deleted", "deleted"): 21,
         (U, "geo_scrubbed", "scrub_geo"): 2},
    ),
    # One run, two jobs (disjoint IDs), then a re-run of the same date finding little left to change.
    "2100000000000000003": _job(
        {**TWEETS_RUN, **_daily("2026-11-19")}, "scheduled__2026-11-20", "20T06",
        {"deleted": 60, "scrub_geo": 34},
        {(T, "deleted", "deleted"): 60, (T, "geo_scrubbed", "scrub_geo"): 13},
    ),
    "2100000000000000004": _job(
        {**TWEETS_RUN, **_daily("2026-11-19")}, "scheduled__2026-11-20", "20T06",
        {"deleted": 40, "bounced": 3}, {(T, "deleted", "deleted"): 40, (T, "deleted", "bounced"): 3},
    ),
    "2100000000000000005": _job(
        {**TWEETS_RUN, **_daily("2026-11-19")}, "manual__rerun", "20T07",
        {"scrub_geo": 34, "deleted": 1}, {(T, "deleted", "deleted"): 1},
    ),
}  # fmt: skip


SEGMENTS = ("rowid ranges", "columns", "none")


def _write_history(path, segments: str) -> None:
    record = 1_900_000_000_000_000_000
    with closing(sqlite3.connect(path)) as db:
        db.execute(AUDIT_DDL)
        db.execute(RUNS_DDL)
        if segments != "none":
            db.execute(SEGMENTS_DDL)
        cur = db.cursor()
        for job_id, (fields, audited) in HISTORY.items():
            flagged = {
                c: fields.get(c, 0) for c in COLUMNS if c.startswith("flagged_") and c != "flagged_json"
            }
            row = (
                dict.fromkeys(COLUMNS)
                | flagged
                | fields
                | {"job_id": job_id, "ids_sent": 500, "results": sum(flagged.values())}
            )
            changed = {change: sum(n for (_, c, _), n in audited.items() if c == change)
                       for change in ("deleted", "geo_scrubbed", "cascade_deleted")}  # fmt: skip
            row |= {f"rows_{change}": n for change, n in changed.items()}
            row["flagged_json"] = json.dumps({k[8:]: v for k, v in flagged.items() if v})
            record_run(cur, "?", row)
            for (table, change, reason), n in audited.items():
                at = row["applied_at"]
                rows = [(record := record + 7919, table, change, reason, job_id, row["run_id"], at)
                        for _ in range(n)]  # fmt: skip
                cur.executemany(
                    f"INSERT INTO compliance_audit ({AUDIT_COLUMNS}) VALUES (?,?,?,?,?,?,?)", rows
                )
                last = cur.execute("SELECT last_insert_rowid()").fetchone()[0]
                span = (last - n + 1, last) if segments == "rowid ranges" else (None, None)
                if segments != "none":
                    segment = Segment(job_id, row["run_id"], at, table, change, reason, n, *span)
                    record_segments(cur, "?", [segment])
        db.commit()


@pytest.fixture(params=SEGMENTS)
def wh(request, tmp_path, monkeypatch) -> Warehouse:
    from x_compliance.ui import queries

    monkeypatch.setattr(queries, "_COUNTS", {})  # each warehouse of this name counted afresh
    path = tmp_path / "warehouse.db"
    _write_history(path, request.param)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    return Warehouse(*warehouse_hook())


def _listing(wh: Warehouse, where: str = "", *params) -> list[dict]:
    """Every audited change the filter shows, in the page's order, by one plain query."""
    sql = (
        f"SELECT {', '.join('a.' + f for f in audit.FIELDS)} FROM compliance_audit a "
        f"JOIN compliance_runs r ON r.job_id = a.job_id {where} "
        "ORDER BY r.applied_at DESC, r.job_id DESC, a.table_name DESC, a.change DESC, a.reason DESC, "
        "a.record_id DESC"
    )
    return [dict(zip(audit.FIELDS, row, strict=True)) for row in wh.records(sql, params)]


def test_every_page_in_order_and_a_page_past_the_end_is_the_last(wh):
    everything = _listing(wh)
    pages_seen, page = [], 0
    while True:
        served = audit_page(wh, AuditFilter(), page)
        assert (served.page, served.total, served.pages) == (
            page,
            len(everything),
            -(-len(everything) // PAGE_SIZE),
        )
        pages_seen += served.rows
        if page == served.pages - 1:
            break
        page += 1
    assert pages_seen == everything  # read from both ends of each job's segments

    beyond = audit_page(wh, AuditFilter(), 999_999_999_999)
    last, total = page, len(everything)
    assert total % PAGE_SIZE and beyond.page == last and beyond.rows == everything[last * PAGE_SIZE :]
    html = pages.audit_section(beyond, path="/x-compliance/")
    assert f"Page {last + 1} of {last + 1} · rows {last * PAGE_SIZE + 1} to {total} of {total}" in html
    assert "page 1,000,000,000,000 asked for" in html
    assert re.findall(r'data-page="(\d+)">([^<]+)<', html)[:2] == [("0", "First"), (str(last - 1), "← Newer")]
    assert "Older →" in html and f'data-page="{last + 1}"' not in html  # nothing past the last page


def test_filters_count_and_list_what_plain_sql_finds(wh):
    for flt, where, params in (
        (AuditFilter(reason="deleted"), "WHERE a.reason = ?", ("deleted",)),
        (AuditFilter(table="users"), "WHERE a.table_name = ?", ("users",)),
        (AuditFilter(reason="scrub_geo", table="tweets"), "WHERE a.reason = ? AND a.table_name = ?",
         ("scrub_geo", "tweets")),
        (AuditFilter(job_id="2100000000000000002", table="tweets"), "WHERE a.job_id = ? AND a.table_name = ?",
         ("2100000000000000002", "tweets")),
        (AuditFilter(reason="protected"), "WHERE a.reason = ?", ("protected",)),
    ):  # fmt: skip
        expected = _listing(wh, where, *params)
        for page in range(-(-len(expected) // PAGE_SIZE)):
            served = audit_page(wh, flt, page)
            shown = expected[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
            assert (served.total, served.rows, served.unknown) == (len(expected), shown, []), (flt, page)


def test_an_unknown_filter_value_is_shown_as_unknown_not_as_all(wh):
    served = audit_page(wh, AuditFilter(reason="nope", table="tweets"), 0)
    assert served.unknown == ["reason 'nope'"] and served.rows == [] and served.total == 0
    html = pages.audit_section(served, path="/x-compliance/")
    assert (
        "Unknown reason &#x27;nope&#x27;" in html and '<option value="nope" selected>nope (unknown)' in html
    )
    assert audit_page(wh, AuditFilter(table="posts"), 0).unknown == ["table 'posts'"]


def test_csv_streams_the_filter_in_batches(wh, monkeypatch):
    monkeypatch.setattr(audit, "CSV_BATCH", 7)  # several batches per segment
    for flt, where, params in (
        (AuditFilter(), "", ()),
        (AuditFilter(reason="deleted"), "WHERE a.reason = ?", ("deleted",)),
    ):
        chunks = list(csv_lines(wh, flt))
        assert len(chunks) > 10
        rows = list(csv.reader(io.StringIO("".join(chunks))))
        assert rows[0] == list(audit.FIELDS)
        assert rows[1:] == [[str(r[f]) for f in audit.FIELDS] for r in _listing(wh, where, *params)]
    assert audit.csv_name(AuditFilter(reason='x"y', job_id="1")) == "compliance-audit-x_y-job-1.csv"


def test_flagged_per_date_counts_a_re_run_once(wh):
    per_date = {(t, d): figures for t, d, figures in charts.flagged_per_date(wh.latest_runs())}
    # 2026-11-19: its two-job run adds up (60 + 40 deleted); its re-run (34 scrub_geo again) never
    # adds to it: per reason, the most one run flagged.
    expected = {**dict.fromkeys(charts.SERIES, 0), "deleted": 100, "scrub_geo": 34, "bounced": 3}
    assert per_date[("tweets", "2026-11-19")] == expected
    assert per_date[("tweets", "2026-11-18")]["deleted"] == 31
    html = charts.flagged_chart(wh.latest_runs())
    bars = re.findall(
        r'data-table="(\w+)" data-checked="([^"]+)" data-series="(\w+)" data-value="(\d+)"', html
    )
    assert ("tweets", "2026-11-19", "scrub_geo", "34") in bars and (
        "tweets",
        "2026-11-19",
        "deleted",
        "100",
    ) in bars
    assert len(bars) == sum(1 for *_, figures in per_date.items() for n in figures.values() if n)


def test_coverage_from_the_runs_alone(wh):
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    runs, first = wh.runs_since(10_000), wh.first_applied()
    tweets = coverage("tweets", runs, 7, first.get("tweets"), now=now)
    assert tweets.slots == {slot_of_date(datetime(2026, 11, d).date(), 7) for d in (18, 19)}
    assert tweets.dates == {"2026-11-18", "2026-11-19"} and tweets.rotation_day == 2 and tweets.on_track
    assert tweets.ids_sent == 2 * 500  # the 11-18 job and the re-run: the run it replaced is not added
    users = coverage("users", runs, 7, first.get("users"), now=now)
    assert users.everything and users.share == 1.0
    assert coverage("users", [], 7, None, now=now).share == 0 == coverage("users", [], 7, None).rotation_day
    html = pages.coverage_cards([tweets, coverage("users", [], 7, None, now=now)])
    assert "2 of 7 rotation slots" in html and "day 2 of 7 of the rotation: expect ~2/7 (29%)" in html
    assert re.search(r'data-coverage="users".*?<div class="big warn">0%</div>', html)


def test_a_job_card_explains_flagged_against_changed(wh):
    rerun = wh.job("2100000000000000005")
    html = pages.job_card(rerun, wh.job_counts(rerun), wh.earlier_check(rerun))
    assert "34 had no geo left to clear" in html and 'data-unchanged="scrub_geo" data-n="34"' in html
    assert "checked 2026-11-19 before this one" in html and "2100000000000000004" in html
    users = wh.job("2100000000000000002")
    html = pages.job_card(users, wh.job_counts(users))
    assert 'data-table="tweets" data-change="cascade_deleted" data-reason="deleted">21<' in html
    assert 'data-unchanged="deleted" data-n="0"' in html  # 5 users deleted of 5 flagged; cascades apart
    assert all(f"flagged_{r}" in COLUMNS for r in REASONS)


def test_the_job_link_opens_inside_airflows_ui(monkeypatch):
    from x_compliance.operators.links import PAGE_PREFIX, SHELL_ROUTE, job_page
    from x_compliance.ui.plugin import XCompliancePlugin

    (nav,) = [view for view in XCompliancePlugin.external_views if view["destination"] == "nav"]
    assert f"/plugin/{nav['url_route']}" == SHELL_ROUTE and nav["href"] == f"{PAGE_PREFIX}/"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    link = "https://airflow.example.com/plugin/x-compliance/x-compliance/jobs/2100000000000000001"
    assert job_page("2100000000000000001") == link
    assert f'href="{link.removeprefix("https://airflow.example.com")}"' in pages.job_link(
        "2100000000000000001"
    )


def test_a_job_applied_again_shows_what_its_first_apply_changed(wh, tmp_path):
    """A re-run of a complete job applies the same results again: its row counts what that apply
    changed (nothing), and the page says the earlier apply made the changes."""
    first = wh.job("2100000000000000001")
    again = first | {"run_id": "manual__again", "applied_at": "2026-11-21T06:00:00.000Z"}
    again |= {"rows_deleted": 0, "rows_geo_scrubbed": 0, "rows_cascade_deleted": 0}
    with closing(wh.hook.get_conn()) as db:
        record_run(db.cursor(), "?", again)
        db.commit()
    audited = {
        (T, "deleted", "deleted"): 30,
        (T, "geo_scrubbed", "scrub_geo"): 7,
        (T, "deleted", "suspended"): 13,
    }
    assert wh.job_counts(first) == audited  # every apply's audit rows, still the job's
    row = wh.job(first["job_id"])
    assert row["run_id"] == "manual__again"
    html = pages.job_card(row, wh.job_counts(row), wh.earlier_check(row), wh.applies(row["job_id"]))
    assert 'data-unchanged="deleted" data-n="1"' in html  # 31 flagged, 30 deleted by the first apply
    if "compliance_audit_segments" in wh.tables:  # segments name the apply that wrote them
        first_run = wh.runs_of("x_compliance_tweets", "scheduled__2026-11-19")
        assert [r["job_id"] for r in first_run] == [first["job_id"]]  # the first run's tab still shows it
        assert (
            "applied before by run scheduled__2026-11-19 at 2026-11-19T06:00:00.000Z, which changed 50 rows"
            in html
        )
        assert wh.changed_before([row]) == {row["job_id"]: {"deleted": 43, "geo_scrubbed": 7}}
        table = pages.runs_table([row], wh.changed_before([row]))
        assert "43 earlier" in table and "7 earlier" in table


def test_rowids_renumbered_by_vacuum_fall_back_to_reading_by_columns(wh):
    """An operator purges a job from the audit and runs VACUUM: SQLite renumbers the audit's
    rowids, and every later segment's range is stale. The page must still list what plain SQL finds."""
    with closing(wh.hook.get_conn()) as db:
        for table in ("compliance_audit", "compliance_runs", "compliance_audit_segments"):
            if table in wh.tables:
                db.execute(f"DELETE FROM {table} WHERE job_id = '2100000000000000001'")
        db.commit()
        db.execute("VACUUM")
    expected = _listing(wh)
    served = [audit_page(wh, AuditFilter(), page).rows for page in range(-(-len(expected) // PAGE_SIZE))]
    assert [row for rows in served for row in rows] == expected
    rows = list(csv.reader(io.StringIO("".join(csv_lines(wh, AuditFilter())))))[1:]
    assert rows == [[str(r[f]) for f in audit.FIELDS] for r in expected]
