"""How fast the Compliance page answers over a large history: ``python bench/page.py``.

Builds (once, cached in bench/out/) a SQLite warehouse of ``--posts`` Posts and an audit of
``--audit`` rows (10M by default) over ``--jobs`` applied jobs: a first sweep that changed
half of them, then daily jobs sharing the rest, with ``compliance_runs`` rows as applies write
them and the page's index (``create_indexes``). Then times the page's handlers in-process, as
HTTP requests through its FastAPI app (Airflow's authentication, which is not the page's cost,
left out): the first request of a process (it counts each job's audit rows once, through the
index) and then each view, warm. Also: streaming the largest job's audit as CSV (rows/s
and peak Python memory, from the generator the CSV route streams), and what the index costs an
apply's audit insert.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent / "plugins"), str(BENCH.parent / "include"), str(BENCH)]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="xc-bench-page-"))
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

import warehouse  # noqa: E402  (bench/warehouse.py: the Posts)
from common import OUT  # noqa: E402

from x_compliance.warehouse.apply import AUDIT_COLUMNS, AUDIT_DDL  # noqa: E402
from x_compliance.warehouse.runs import COLUMNS, RUNS_DDL, create_indexes, record_run  # noqa: E402

VERSION = 3  # bump when the generated history or the page index changes
REASONS = ("deleted", "suspended", "protected", "deactivated", "bounced", "scrub_geo")
FIRST_JOB = 2_130_000_000_000_000_000


def _job_rows(db: sqlite3.Connection, job: int, job_id: str, rows: int, first_record: int) -> None:
    """``rows`` audit rows of one job, made inside SQLite: reasons spread, geo scrubs as such."""
    db.execute(
        f"""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1)
        INSERT INTO compliance_audit ({AUDIT_COLUMNS})
        SELECT :first + i * 4099, 'tweets',
               CASE WHEN i % 6 = 5 THEN 'geo_scrubbed' ELSE 'deleted' END,
               CASE i % 6 WHEN 0 THEN 'deleted' WHEN 1 THEN 'suspended' WHEN 2 THEN 'protected'
                          WHEN 3 THEN 'deactivated' WHEN 4 THEN 'bounced' ELSE 'scrub_geo' END,
               :job_id, :run_id, :at
        FROM n""",
        {
            "rows": rows,
            "first": first_record,
            "job_id": job_id,
            "run_id": f"scheduled__{job}",
            "at": _at(job),
        },
    )


def _at(job: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_790_000_000 + job * 86_400))


def build(path: Path, *, posts: int, audit: int, jobs: int) -> Path:
    """The warehouse: Posts, then the jobs' runs rows and audit rows, then the page's index."""
    warehouse.generate(path, posts, days=30)
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(AUDIT_DDL)
        db.execute(RUNS_DDL)
        sweep, rest = audit // 2, audit - audit // 2
        sizes = [sweep] + [rest // (jobs - 1) + (1 if i < rest % (jobs - 1) else 0) for i in range(jobs - 1)]
        record = 1_900_000_000_000_000_000
        for job, rows in enumerate(sizes):
            job_id = str(FIRST_JOB + job * 1_000_003)
            per_reason = {reason: rows // 6 + (1 if i < rows % 6 else 0) for i, reason in enumerate(REASONS)}
            scope = (
                {"scope_kind": "sweep", "scope_label": "every row (sweep)"}
                if job == 0
                else {"scope_kind": "new rows + rotation share", "scope_date": _at(job)[:10],
                      "rotation_slot": job % 7, "recheck_days": 7, "scope_label": f"day {job}"}
            )  # fmt: skip
            row = dict.fromkeys(COLUMNS) | scope | {
                "dag_id": "x_compliance_tweets", "run_id": f"scheduled__{job}", "job_id": job_id,
                "job_type": "tweets", "table_name": "tweets", "applied_at": _at(job),
                "ids_sent": rows * 12, "results": rows + rows // 5,
                "rows_deleted": rows - per_reason["scrub_geo"], "rows_geo_scrubbed": per_reason["scrub_geo"],
                "rows_cascade_deleted": 0, "flagged_other": 0,
                **{f"flagged_{reason}": n for reason, n in per_reason.items()},
                "flagged_json": json.dumps(per_reason), "x_processing_seconds": 30.0, "status_calls": 3,
            }  # fmt: skip
            record_run(db.cursor(), "?", row)
            _job_rows(db, job, job_id, rows, record)
            record += rows * 4099 + 1
        db.commit()
        started = time.perf_counter()
        create_indexes(db)
        print(f"page index built over {audit:,} audit rows in {time.perf_counter() - started:.1f} s")
    finally:
        db.close()
    return path


def cached(posts: int, audit: int, jobs: int) -> Path:
    path = OUT / f"page-v{VERSION}-{posts}-{audit}-{jobs}.db"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build(path.with_suffix(".part"), posts=posts, audit=audit, jobs=jobs).rename(path)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s")
    return path


def _client(path: Path):
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(path)})
    from fastapi.testclient import TestClient

    import x_compliance.ui.app as page_app

    page_app._auth = lambda: []  # Airflow's authentication is the API server's cost, not the page's
    return TestClient(page_app.create_app())


def _timed(client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    answer = client.get(url)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    return elapsed, len(answer.content)


FIRST = "first request of a process (imports, connection, counting every job)"
COUNTING = "counting every job's audit rows again (the cache emptied)"


def measure(path: Path, repeats: int) -> dict:
    """Seconds per view (median and max of ``repeats``), the first request, and the CSV stream."""
    db = sqlite3.connect(path)
    (jobs,) = db.execute("SELECT COUNT(*) FROM compliance_runs").fetchone()
    big_job, big_rows = db.execute(
        "SELECT job_id, rows_deleted + rows_geo_scrubbed FROM compliance_runs ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    (newest_run,) = db.execute(
        "SELECT run_id FROM compliance_runs ORDER BY applied_at DESC LIMIT 1"
    ).fetchone()
    db.close()
    client = _client(path)
    found: dict = {"jobs": jobs, FIRST: _timed(client, "/")[0]}
    from x_compliance.ui import queries

    queries._COUNTS.clear()
    found[COUNTING] = _timed(client, "/")[0]
    # The largest job (the sweep): the middle of it is the deepest any page reads, filtered or not.
    middle, middle_deleted = big_rows // 2 // 50, big_rows // 6 // 2 // 50
    views = {
        "overview, page 1": "/",
        "overview, last page (page=999999999999)": "/?page=999999999999",
        "overview, reason=bounced, page 1": "/?reason=bounced",
        "job page, largest job, page 1": f"/jobs/{big_job}",
        f"job page, largest job, page {middle + 1:,} (its middle)": f"/jobs/{big_job}?page={middle}",
        f"job page, largest job, reason=deleted, page {middle_deleted + 1:,} (its middle)":
            f"/jobs/{big_job}?reason=deleted&page={middle_deleted}",
        "run tab": f"/runs/x_compliance_tweets/{newest_run}",
    }  # fmt: skip
    for name, url in views.items():
        times = sorted(_timed(client, url)[0] for _ in range(repeats))
        found[name] = {"median": statistics.median(times), "max": times[-1]}
    # What the CSV route's StreamingResponse iterates (a test client would gather the body).
    from x_compliance.ui.audit import AuditFilter, csv_lines
    from x_compliance.ui.queries import Warehouse, warehouse_hook

    started, size = time.perf_counter(), 0
    for chunk in csv_lines(Warehouse(*warehouse_hook()), AuditFilter(job_id=big_job)):
        size += len(chunk)
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # a second pass, its first 500,000 rows: tracing slows every allocation
    for _, _ in zip(
        range(50), csv_lines(Warehouse(*warehouse_hook()), AuditFilter(job_id=big_job)), strict=False
    ):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    found["csv"] = {"rows": big_rows, "seconds": elapsed, "mb": size / 1e6, "peak_python_mb": peak / 1e6}
    return found


def report(args: argparse.Namespace, found: dict, cost: dict) -> str:
    store = f"{args.posts:,} Posts, {args.audit:,} audited rows, {found['jobs']} jobs (SQLite)"
    lines = [f"Compliance page over {store}"]
    lines += [f"  {name:<72} {found[name] * 1000:7.0f} ms" for name in (FIRST, COUNTING)]
    for name, value in found.items():
        if isinstance(value, dict) and "median" in value:
            lines.append(
                f"  {name:<72} {value['median'] * 1000:7.0f} ms median, {value['max'] * 1000:.0f} max"
            )
    csv = found["csv"]
    lines.append(
        f"  CSV of the largest job: {csv['rows']:,} rows, {csv['mb']:.0f} MB in {csv['seconds']:.1f} s "
        f"({csv['rows'] / csv['seconds']:,.0f} rows/s); peak Python memory over its first 500,000 rows "
        f"{csv['peak_python_mb']:.1f} MB"
    )
    lines.append(
        f"  an apply auditing 500,000 rows: {cost['with the index']:.2f} s with the page's index, "
        f"{cost['without it']:.2f} s without"
    )
    return "\n".join(lines)


def index_cost(path: Path, rows: int) -> dict:
    """An apply's audit insert of ``rows`` for a new job, with and without the page's index
    (each in a transaction rolled back: the cached warehouse stays as it was)."""
    db = sqlite3.connect(path, isolation_level=None)
    costs = {}
    try:
        for label, drop in (("with the index", False), ("without it", True)):
            db.execute("BEGIN")
            if drop:
                db.execute("DROP INDEX compliance_audit_by_job")
            started = time.perf_counter()
            _job_rows(db, 99_999, str(FIRST_JOB + 99_999 * 1_000_003), rows, 1_950_000_000_000_000_000)
            costs[label] = time.perf_counter() - started
            db.execute("ROLLBACK")
    finally:
        db.close()
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--audit", type=int, default=10_000_000)
    parser.add_argument("--jobs", type=int, default=101)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    path = cached(args.posts, args.audit, args.jobs)
    found = measure(path, args.repeats)
    cost = index_cost(path, 500_000)
    (OUT / f"page-results-{args.audit}.json").write_text(json.dumps({**found, "index_cost": cost}, indent=2))
    print(report(args, found, cost))


if __name__ == "__main__":
    main()
