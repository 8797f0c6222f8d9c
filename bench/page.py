"""How fast the Compliance page answers over a large history, and what writing that history
costs the apply: ``python bench/page.py``.

Builds (once, cached in bench/out/) a SQLite warehouse of ``--posts`` Posts and an audit of
``--audit`` rows (10M by default) over ``--jobs`` applied jobs: a first sweep that changed
half of them, then daily jobs sharing the rest, written as applies write them (each job's rows
one table, change and reason at a time, with ``compliance_runs`` and
``compliance_audit_segments`` rows). No index is added. Then times the page's handlers
in-process, as HTTP requests through its FastAPI app (Airflow's authentication, which is not the
page's cost, left out): the first request of a process and each view, warm. Also: streaming the
largest job's audit as CSV (rows/s and peak Python memory, from the generator the CSV route
streams), and a real apply of ``--apply-rows`` flagged Posts on a copy of that warehouse.

``--compare DIR`` runs the same views and the same apply with the provider of another checkout
(``DIR/plugins``, e.g. ``git archive <commit> plugins include | tar -x -C DIR``) on the same
warehouse, side by side. Each side runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CODE = Path(os.environ.get("XC_PAGE_BENCH_CODE", BENCH.parent))  # the checkout whose provider runs
sys.path[:0] = [str(CODE / "plugins"), str(CODE / "include"), str(BENCH)]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="xc-bench-page-"))
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

import warehouse  # noqa: E402  (bench/warehouse.py: the Posts)
from common import OUT  # noqa: E402

VERSION = 4  # bump when the generated history changes
REASONS = ("deleted", "suspended", "protected", "deactivated", "bounced", "scrub_geo")
FIRST_JOB = 2_130_000_000_000_000_000


def _segment_rows(db: sqlite3.Connection, job: int, job_id: str, change: str, reason: str, rows: int,
                  first_record: int) -> tuple[int, int]:  # fmt: skip
    """``rows`` audit rows of one job's change and reason, made inside SQLite in one INSERT (as
    the apply writes them); returns their rowid range."""
    from x_compliance.warehouse.apply import AUDIT_COLUMNS

    db.execute(
        f"""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1)
        INSERT INTO compliance_audit ({AUDIT_COLUMNS})
        SELECT :first + i * 4099, 'tweets', :change, :reason, :job_id, :run_id, :at FROM n""",
        {"rows": rows, "first": first_record, "change": change, "reason": reason, "job_id": job_id,
         "run_id": f"scheduled__{job}", "at": _at(job)},
    )  # fmt: skip
    (last,) = db.execute("SELECT last_insert_rowid()").fetchone()
    return last - rows + 1, last


def _at(job: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_790_000_000 + job * 86_400))


def build(path: Path, *, posts: int, audit: int, jobs: int, store: Path | None = None) -> Path:
    """The warehouse: Posts (generated, or a copy of ``store``), then each job's runs row, audit
    rows and segments."""
    from x_compliance.warehouse.apply import AUDIT_DDL
    from x_compliance.warehouse.runs import (
        COLUMNS,
        RUNS_DDL,
        SEGMENTS_DDL,
        Segment,
        record_run,
        record_segments,
    )

    if store is None:
        warehouse.generate(path, posts, days=30)
    else:
        shutil.copyfile(store, path)
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        for ddl in (AUDIT_DDL, RUNS_DDL, SEGMENTS_DDL):
            db.execute(ddl)
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
            segments = []
            for reason, n in per_reason.items():
                change = "geo_scrubbed" if reason == "scrub_geo" else "deleted"
                span = _segment_rows(db, job, job_id, change, reason, n, record)
                segments.append(
                    Segment(job_id, row["run_id"], row["applied_at"], "tweets", change, reason, n, *span)
                )
                record += n * 4099 + 1
            record_run(db.cursor(), "?", row)
            record_segments(db.cursor(), "?", segments)
        db.commit()
    finally:
        db.close()
    return path


def cached(posts: int, audit: int, jobs: int, store: Path | None = None) -> Path:
    made_from = f"-{store.stem}" if store else ""
    path = OUT / f"page-v{VERSION}-{posts}-{audit}-{jobs}{made_from}.db"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build(path.with_suffix(".part"), posts=posts, audit=audit, jobs=jobs, store=store).rename(path)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def sqlite_conn(path: Path) -> str:
    return json.dumps({"conn_type": "sqlite", "host": str(path)})


def _client(conn: str):
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = conn
    from fastapi.testclient import TestClient

    import x_compliance.ui.app as page_app

    page_app._auth = lambda: []  # Airflow's authentication is the API server's cost, not the page's
    return TestClient(page_app.create_app())


def _timed(client, url: str) -> float:
    started = time.perf_counter()
    answer = client.get(url)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    return elapsed


FIRST = "first request of a process (imports, connection)"


def views(path: Path) -> dict[str, str]:
    """The views timed, by name: the largest job (the sweep) holds the deepest pages."""
    db = sqlite3.connect(path)
    big_job, big_rows = db.execute(
        "SELECT job_id, rows_deleted + rows_geo_scrubbed FROM compliance_runs ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    (newest_run,) = db.execute(
        "SELECT run_id FROM compliance_runs ORDER BY applied_at DESC LIMIT 1"
    ).fetchone()
    db.close()
    middle, middle_deleted = big_rows // 2 // 50, big_rows // 6 // 2 // 50
    return {
        "overview, page 1": "/",
        "overview, last page (page=999999999999)": "/?page=999999999999",
        "overview, reason=bounced, page 1": "/?reason=bounced",
        "job page, largest job, page 1": f"/jobs/{big_job}",
        f"job page, largest job, page {middle + 1:,} (its middle)": f"/jobs/{big_job}?page={middle}",
        f"job page, largest job, reason=deleted, page {middle_deleted + 1:,} (its middle)":
            f"/jobs/{big_job}?reason=deleted&page={middle_deleted}",
        "run tab": f"/runs/x_compliance_tweets/{newest_run}",
    }  # fmt: skip


def measure(conn: str, urls: dict[str, str], repeats: int) -> dict:
    """Seconds per view (median and max of ``repeats``) and the first request."""
    client = _client(conn)
    found: dict = {FIRST: _timed(client, "/")}
    for name, url in urls.items():
        times = sorted(_timed(client, url) for _ in range(repeats))
        found[name] = {"median": statistics.median(times), "max": times[-1]}
    return found


def csv_stream(path: Path) -> dict:
    """What the CSV route's StreamingResponse iterates for the largest job (a test client would
    gather the body): rows/s, and peak Python memory over its first 500,000 rows."""
    _client(sqlite_conn(path))
    from x_compliance.ui.audit import AuditFilter, csv_lines
    from x_compliance.ui.queries import Warehouse, warehouse_hook

    db = sqlite3.connect(path)
    big_job, big_rows = db.execute(
        "SELECT job_id, rows_deleted + rows_geo_scrubbed FROM compliance_runs ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    db.close()
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
    return {"rows": big_rows, "seconds": elapsed, "mb": size / 1e6, "peak_python_mb": peak / 1e6}


def apply_files(path: Path, rows: int, folder: Path) -> tuple[Path, Path]:
    """A results file flagging ``rows`` of the warehouse's Posts (reasons in turn) and the IDs
    file it answers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    db = sqlite3.connect(path)
    ids = [str(i) for (i,) in db.execute("SELECT id FROM tweets ORDER BY id LIMIT ?", (2 * rows,))][::2]
    db.close()
    results, sent = folder / "results.parquet", folder / "ids.txt"
    pq.write_table(
        pa.table({"id": ids, "reason": [REASONS[i % len(REASONS)] for i in range(len(ids))]}), results
    )
    sent.write_text("".join(f"{i}\n" for i in ids))
    return results, sent


def timed_apply(conn: str, results: Path, ids: Path) -> dict:
    """One real apply of a job of ``results`` on the warehouse ``conn``, by this process's provider."""
    os.environ["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = conn
    from airflow.sdk import BaseHook

    from x_compliance.warehouse.apply import JobResults, apply_jobs
    from x_compliance.warehouse.tables import TWEETS

    job = JobResults(str(FIRST_JOB - 1), results, ids)
    started = time.perf_counter()
    (summary,) = apply_jobs(BaseHook.get_hook("warehouse_default"), TWEETS, [job], run_id="bench")
    return {"seconds": time.perf_counter() - started, "audited": summary["deleted"] + summary["geo_scrubbed"]}


def _child(code: Path, *args: str) -> dict:
    """Run this file's ``args`` in a process importing ``code``'s provider; its JSON answer."""
    env = dict(os.environ, XC_PAGE_BENCH_CODE=str(code), PYTHONPATH="")
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def apply_cost(path: Path, code: Path, rows: int, tries: int) -> list[float]:
    """Seconds of an apply of ``rows`` flagged Posts on fresh copies of the warehouse."""
    seconds = []
    with tempfile.TemporaryDirectory(dir=OUT) as folder:
        results, ids = apply_files(path, rows, Path(folder))
        for _ in range(tries):
            copy = Path(folder) / "apply.db"
            shutil.copyfile(path, copy)
            seconds.append(
                _child(code, "--child-apply", sqlite_conn(copy), str(results), str(ids))["seconds"]
            )
            copy.unlink()
    return seconds


def report(args: argparse.Namespace, sides: dict[str, dict], where: str) -> str:
    lines = [
        f"Compliance page over {args.posts:,} Posts, {args.audit:,} audited rows, {args.jobs} jobs ({where})"
    ]
    names = list(next(iter(sides.values()))["page"])
    lines.append(f"  {'':<72} " + " ".join(f"{side:>24}" for side in sides))
    for name in names:
        cells = []
        for side in sides.values():
            value = side["page"][name]
            cells.append(
                f"{value * 1000:>21.0f} ms" if not isinstance(value, dict)
                else f"{value['median'] * 1000:>9.0f} ms (max {value['max'] * 1000:>5.0f})"
            )  # fmt: skip
        lines.append(f"  {name:<72} " + " ".join(cells))
    if args.apply_tries:
        apply = " ".join(f"{min(side['apply']):>22.2f} s" for side in sides.values())
        label = f"an apply auditing {args.apply_rows:,} flagged Posts (best of {args.apply_tries})"
        lines.append(f"  {label:<72} {apply}")
    csv = next(iter(sides.values())).get("csv")
    if csv:
        lines.append(
            f"  CSV of the largest job: {csv['rows']:,} rows, {csv['mb']:.0f} MB in {csv['seconds']:.1f} s "
            f"({csv['rows'] / csv['seconds']:,.0f} rows/s); peak Python memory over its first 500,000 rows "
            f"{csv['peak_python_mb']:.1f} MB"
        )
    return "\n".join(lines)


def on_postgres(path: Path, args: argparse.Namespace) -> dict[str, dict]:
    """The SQLite warehouse's history on a throwaway PostgreSQL cluster (segments without rowid
    ranges, as the apply writes them there): the views and the apply, without the optional
    index and with it."""
    import postgres
    import psycopg

    lite = sqlite3.connect(path)
    runs = lite.execute("SELECT * FROM compliance_runs").fetchall()
    segments = lite.execute(
        "SELECT job_id, run_id, applied_at, table_name, change, reason, audited_rows "
        "FROM compliance_audit_segments ORDER BY first_row"
    ).fetchall()
    lite.close()
    sides = {}
    with (
        postgres.running(args.posts, days=30, created_at="text") as pg,
        tempfile.TemporaryDirectory(dir=OUT) as folder,
    ):
        from x_compliance.warehouse.apply import AUDIT_COLUMNS, AUDIT_DDL
        from x_compliance.warehouse.runs import (
            AUDIT_INDEX_DDL,
            RUNS_DDL,
            RUNS_TABLE,
            SEGMENTS_DDL,
            SEGMENTS_TABLE,
        )

        with psycopg.connect(pg.cluster.dsn(postgres.PRISTINE)) as db:
            for ddl in (AUDIT_DDL, RUNS_DDL, SEGMENTS_DDL):
                db.execute(ddl)
            marks = ", ".join(["%s"] * len(runs[0]))
            db.cursor().executemany(f"INSERT INTO {RUNS_TABLE} VALUES ({marks})", runs)
            db.cursor().executemany(
                f"INSERT INTO {SEGMENTS_TABLE} VALUES ({', '.join(['%s'] * 7)}, NULL, NULL)", segments
            )
            record = 1_900_000_000_000_000_000
            for job_id, run_id, at, table, change, reason, rows in segments:  # as build() made them
                db.execute(
                    f"INSERT INTO compliance_audit ({AUDIT_COLUMNS}) "
                    "SELECT %s + i * 4099, %s, %s, %s, %s, %s, %s "
                    "FROM generate_series(0::bigint, %s - 1) AS i",
                    (record, table, change, reason, job_id, run_id, at, rows),
                )
                record += rows * 4099 + 1
        pg.psql(postgres.PRISTINE, "-c", "VACUUM ANALYZE")
        results, ids = apply_files(path, args.apply_rows, Path(folder))  # the same Posts' ids as SQLite's
        conn = pg.connection()
        urls = json.dumps(views(path))

        def applies(label: str) -> list[float]:
            seconds = []
            for n in range(args.apply_tries):
                copy = pg.copy(f"apply_{label}_{n}")
                out = _child(BENCH.parent, "--child-apply", pg.connection(copy), str(results), str(ids))
                seconds.append(out["seconds"])
                pg.psql("postgres", "-c", f'DROP DATABASE "{copy}"')
            return seconds

        for label in ("without the index", "with the index"):
            if label == "with the index":
                started = time.perf_counter()
                pg.psql(postgres.PRISTINE, "-c", AUDIT_INDEX_DDL)
                took = time.perf_counter() - started
                print(f"PostgreSQL: the optional index over {args.audit:,} rows in {took:.0f} s", flush=True)
            sides[label] = {
                "page": _child(BENCH.parent, "--child-views", conn, urls, "--repeats", str(args.repeats)),
                "apply": applies(label.split()[0]),
            }
    return sides


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--audit", type=int, default=10_000_000)
    parser.add_argument("--jobs", type=int, default=101)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--apply-rows", type=int, default=500_000)
    parser.add_argument("--apply-tries", type=int, default=2)
    parser.add_argument(
        "--store",
        type=Path,
        help="the Posts from this SQLite store (e.g. bench/out/swept-100000000-v2.db, by run.py --store: "
        "its first sweep's audit stays, the history is added), not generated",
    )
    parser.add_argument("--compare", type=Path, help="another checkout, to run side by side")
    parser.add_argument("--postgres", action="store_true", help="the same history on PostgreSQL too")
    parser.add_argument("--child-views", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-apply", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_views:
        conn, urls = args.child_views
        print(json.dumps(measure(conn, json.loads(urls), args.repeats)))
        return
    if args.child_apply:
        conn, results, ids = args.child_apply
        print(json.dumps(timed_apply(conn, Path(results), Path(ids))))
        return
    path = cached(args.posts, args.audit, args.jobs, args.store)
    if args.postgres:
        found = on_postgres(path, args)
        (OUT / f"page-postgres-results-{args.audit}.json").write_text(json.dumps(found, indent=2))
        print(report(args, found, "PostgreSQL"))
        return
    codes = {"this tree": BENCH.parent} | (
        {f"--compare {args.compare.name}": args.compare} if args.compare else {}
    )
    sides = {}
    for side, code in codes.items():
        sides[side] = {
            "page": _child(
                code,
                "--child-views",
                sqlite_conn(path),
                json.dumps(views(path)),
                "--repeats",
                str(args.repeats),
            ),
            "apply": apply_cost(path, code, args.apply_rows, args.apply_tries),
        }
    sides["this tree"]["csv"] = csv_stream(path)
    (OUT / f"page-results-{args.audit}.json").write_text(json.dumps(sides, indent=2))
    print(report(args, sides, "SQLite"))


if __name__ == "__main__":
    main()
