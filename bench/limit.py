""" "The limit": the same work done by tools that do nothing else (curl, sqlite3, pyarrow, SQL).

Each is what the stage would cost with no validation, no retries and no audit, on the same
bytes and the same emulator. Signed URLs reach curl through a config on stdin, never argv.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq
from common import redact

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


def _shown(url: str, *args: str) -> str:
    """The curl command as run, its signed URL (read from stdin) redacted."""
    return f"{shlex.join(['curl', '-sS', '-f', '-K', '-', *args])}  <<< 'url = \"{redact(url)}\"'"


def export(db: str, sql: str, destination: str) -> dict:
    if shutil.which("sqlite3"):
        started = time.perf_counter()
        with open(destination, "wb") as out:
            subprocess.run(["sqlite3", db, sql], stdout=out, check=True)
        command = f'sqlite3 warehouse.db "{sql}" > ids.txt'
        return {"seconds": time.perf_counter() - started, "tool": "sqlite3 CLI", "command": command}
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
    command = _shown(job.upload_url, *put)
    return {"seconds": seconds, "job_id": job.id, "tool": "curl PUT --data-binary", "command": command}


def download(job_id: str, raw_path: str) -> dict:
    job = XComplianceHook().get_job(job_id)
    seconds = _curl(f'url = "{job.download_url}"\n', "-o", raw_path)
    return {"seconds": seconds, "tool": "curl GET", "command": _shown(job.download_url, "-o", raw_path)}


# X's two timestamp styles, the rule ours reads them by (files/results.py).
_TIMESTAMP = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)


def _text(value: str) -> pa.Scalar:
    """A string scalar made from buffers: any Python value in a compute call (``pa.scalar``
    too) makes pyarrow import pandas, 0.3 s that no reader needs."""
    import numpy as np

    offsets = pa.py_buffer(np.array([0, len(value)], np.int32))
    return pa.StringArray.from_buffers(1, offsets, pa.py_buffer(value.encode()))[0]


def parse(raw_path: str, parquet_path: str) -> dict:
    """pyarrow doing what ours does to the file, on all cores and all in memory: every line one
    object, IDs 1-19 ASCII digits within BIGINT, a reason on each, timestamps in X's two styles,
    ``action`` null as "", the first line for an ID kept, then one Parquet write. (Read without
    these, the limit was a reader that checks and de-duplicates nothing.)"""
    import numpy as np

    text = pa.schema([(field.name, pa.string()) for field in _SCHEMA])
    options = pj.ParseOptions(explicit_schema=text, unexpected_field_behavior="ignore")
    raw = pj.read_json(raw_path, parse_options=options)
    data = np.fromfile(raw_path, np.uint8)
    ends = np.flatnonzero(data == 10)
    lines = len(ends) + (len(data) > 0 and data[-1] != 10)
    content = np.diff(ends, prepend=-1) - 1  # bytes before each newline; a lone "\r" is blank too
    blank = np.count_nonzero((content == 0) | ((content == 1) & (data[ends - 1] == 13)))
    assert raw.num_rows == lines - blank, "a line is not one JSON object"
    ids = raw.column("id")
    lengths = pc.binary_length(ids)
    assert not ids.null_count and pc.all(pc.ascii_is_decimal(ids)).as_py(), "an id is not digits"
    assert pc.min(lengths).as_py() >= 1 and pc.max(lengths).as_py() <= 19, "an id is not 1-19 digits"
    past = pc.and_(pc.equal(lengths, pc.max(lengths)), pc.greater(ids, _text("9223372036854775807")))
    assert pc.max(lengths).as_py() < 19 or not pc.any(past).as_py(), "an id past BIGINT"
    reasons = raw.column("reason")
    assert not reasons.null_count and pc.min(pc.binary_length(reasons)).as_py() > 0, "a missing reason"
    columns = {"id": ids, "reason": reasons, "action": pc.fill_null(raw.column("action"), _text(""))}
    for name in ("created_at", "redacted_at"):
        stamps = raw.column(name)
        assert pc.all(pc.match_substring_regex(stamps, _TIMESTAMP)).as_py() is not False, name
        columns[name] = pc.cast(stamps, _SCHEMA.field(name).type)
    table = pa.table(columns, schema=_SCHEMA)
    numbers = pc.cast(ids, pa.uint64()).combine_chunks()
    _, first = np.unique(np.frombuffer(numbers.buffers()[1], np.uint64, len(numbers)), return_index=True)
    keep = np.sort(first).astype(np.int64)
    table = table.take(pa.Array.from_buffers(pa.int64(), len(keep), [None, pa.py_buffer(keep)]))
    pq.write_table(table, parquet_path)
    return {
        "rows": table.num_rows,
        "tool": "pyarrow.json.read_json + the same checks, first-wins dedup (compute, numpy), write_table",
    }


# The apply's work in SQL alone: what ours does (stage the flagged IDs, audit exactly the rows each
# change touches, delete, scrub geo, one transaction), typed as one would for the sqlite3 CLI.
AUDIT = (
    "CREATE TABLE IF NOT EXISTS compliance_audit (record_id BIGINT NOT NULL, "
    "table_name VARCHAR(64) NOT NULL, change VARCHAR(32) NOT NULL, reason VARCHAR(32) NOT NULL, "
    "job_id VARCHAR(19) NOT NULL, "
    "run_id VARCHAR(250) NOT NULL, changed_at VARCHAR(32) NOT NULL);"
)
GEO_SET = "{t}place_id IS NOT NULL OR {t}geo_lat IS NOT NULL OR {t}geo_lon IS NOT NULL"
APPLY_SQL = f"""{AUDIT}
INSERT INTO compliance_audit SELECT t.id, 'tweets', 'deleted', f.reason, 'job', 'limit', 'now'
  FROM tweets t JOIN flagged f ON t.id = f.id WHERE f.change = 'delete';
DELETE FROM tweets WHERE id IN (SELECT id FROM flagged WHERE change = 'delete');
INSERT INTO compliance_audit SELECT t.id, 'tweets', 'geo_scrubbed', f.reason, 'job', 'limit', 'now'
  FROM tweets t JOIN flagged f ON t.id = f.id WHERE f.change = 'scrub' AND ({GEO_SET.format(t="t.")});
UPDATE tweets SET place_id = NULL, geo_lat = NULL, geo_lon = NULL
  WHERE id IN (SELECT id FROM flagged WHERE change = 'scrub') AND ({GEO_SET.format(t="")});
"""


# What the limit's run changed (a store swept before holds earlier runs' audit rows too).
AUDITED = "SELECT change, count(*) FROM compliance_audit WHERE run_id = 'limit' GROUP BY change"


def flagged_csv(parquet_path: str | list[str], csv_path: str) -> int:
    """The flagged IDs as the CLI imports them (id, reason, change; first row per id), made
    before the clock starts: the limit is the database's work, not reading Parquet. Several
    files (a run's jobs) make one CSV."""
    paths = [parquet_path] if isinstance(parquet_path, str) else parquet_path
    table = pa.concat_tables(pq.read_table(path, columns=["id", "reason"]) for path in paths)
    ids = pc.cast(table.column("id"), pa.int64())
    frame = pa.table({"id": ids, "reason": table.column("reason")}).to_pandas()
    frame = frame.drop_duplicates("id", keep="first")
    frame["change"] = (frame["reason"] == "scrub_geo").map({True: "scrub", False: "delete"})
    frame.to_csv(csv_path, header=False, index=False)
    return len(frame)


def apply(db: str, parquet_path: str | list[str]) -> dict:
    """The sqlite3 CLI doing the apply's work: import the flagged IDs, audit, delete, scrub, commit
    (every job's results, when ``parquet_path`` lists a run's files, in one transaction)."""
    csv_path = f"{db}.flagged.csv"
    flagged_csv(parquet_path, csv_path)
    script = (
        "BEGIN;\nCREATE TEMP TABLE flagged (id INTEGER PRIMARY KEY, reason TEXT, change TEXT);\n"
        f".import --csv {csv_path} flagged\n{APPLY_SQL}COMMIT;\n"
    )
    started = time.perf_counter()
    subprocess.run(["sqlite3", db], input=script, text=True, check=True)
    seconds = time.perf_counter() - started
    os.unlink(csv_path)
    with sqlite3.connect(db) as conn:
        counts = conn.execute(AUDITED)
        audited = dict(counts.fetchall())
    conn.close()
    return {
        "seconds": seconds,
        "deleted": audited.get("deleted", 0),
        "geo_scrubbed": audited.get("geo_scrubbed", 0),
        "tool": "sqlite3 CLI: .import, audit INSERT ... SELECT, DELETE, UPDATE, COMMIT",
        "command": "sqlite3 warehouse.db < apply.sql",
    }
