""" "The limit": the same work done by tools that do nothing else (curl, sqlite3, pyarrow, SQL).

Each is what the stage would cost with no validation, no retries and no audit, on the same
bytes and the same emulator. Signed URLs reach curl through a config on stdin, never argv.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

from x_compliance.hooks.x_compliance import XComplianceHook

_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("reason", pa.string()),
        ("action", pa.string()),
        ("created_at", pa.timestamp("ms", tz="UTC")),
        ("redacted_at", pa.timestamp("ms", tz="UTC")),
    ]
)


def _curl(config: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-K", "-", *args], input=config, text=True, check=True)
    return time.perf_counter() - started


def export(db: str, sql: str, destination: str) -> dict:
    if shutil.which("sqlite3"):
        started = time.perf_counter()
        with open(destination, "wb") as out:
            subprocess.run(["sqlite3", db, sql], stdout=out, check=True)
        return {"seconds": time.perf_counter() - started, "tool": "sqlite3 CLI"}
    started = time.perf_counter()
    with sqlite3.connect(db) as conn, open(destination, "w") as out:
        cursor = conn.execute(sql)
        while rows := cursor.fetchmany(100_000):
            out.write("".join(f"{row[0]}\n" for row in rows))
    return {"seconds": time.perf_counter() - started, "tool": "python sqlite3 fetchmany (no sqlite3 CLI)"}


def upload(ids_path: str) -> dict:
    job = XComplianceHook().create_job("tweets")
    config = f'url = "{job.upload_url}"\n'
    put = ("-X", "PUT", "-H", "Content-Type: text/plain", "--data-binary", f"@{ids_path}", "-o", "/dev/null")
    seconds = _curl(config, *put)
    return {"seconds": seconds, "job_id": job.id, "tool": "curl PUT --data-binary"}


def download(job_id: str, raw_path: str) -> dict:
    job = XComplianceHook().get_job(job_id)
    seconds = _curl(f'url = "{job.download_url}"\n', "-o", raw_path)
    return {"seconds": seconds, "tool": "curl GET"}


def parse(raw_path: str, parquet_path: str) -> dict:
    options = pj.ParseOptions(explicit_schema=_SCHEMA)
    table = pj.read_json(raw_path, parse_options=options)
    pq.write_table(table, parquet_path)
    return {"rows": table.num_rows, "tool": "pyarrow.json.read_json + write_table"}


def apply(db: str, parquet_path: str) -> dict:
    """Temp table keyed by id, then one DELETE and one UPDATE joined on it; no audit."""
    table = pq.read_table(parquet_path, columns=["id", "reason"])
    rows = zip(
        table.column("id").cast(pa.int64()).to_pylist(), table.column("reason").to_pylist(), strict=True
    )
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TEMP TABLE flagged (id INTEGER PRIMARY KEY, reason TEXT)")
        conn.executemany("INSERT OR IGNORE INTO flagged VALUES (?, ?)", rows)
        deleted = conn.execute(
            "DELETE FROM tweets WHERE id IN (SELECT id FROM flagged WHERE reason <> 'scrub_geo')"
        ).rowcount
        scrubbed = conn.execute(
            "UPDATE tweets SET place_id = NULL, geo_lat = NULL, geo_lon = NULL "
            "WHERE id IN (SELECT id FROM flagged WHERE reason = 'scrub_geo') "
            "AND (place_id IS NOT NULL OR geo_lat IS NOT NULL OR geo_lon IS NOT NULL)"
        ).rowcount
    conn.close()
    return {"deleted": deleted, "geo_scrubbed": scrubbed, "tool": "sqlite3 temp table + DELETE/UPDATE"}
