"""Generate the benchmark's SQLite warehouse fast: N Posts over one day (or ``days`` days
ending with it, for the daily run of a whole store), all inside SQLite.

A recursive CTE makes every row in C (no Python tuples), and ids and ``created_at`` both grow
with the row number, so both indexes are filled by appends instead of random B-tree inserts.
The demo warehouse's ``tweets`` columns; ids are snowflakes consistent with their date.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from x_compliance_demo.warehouse import TWEPOCH_MS

DAY_START = "2026-11-20T00:00:00.000Z"
DAY_END = "2026-11-21T00:00:00.000Z"
DAY_START_MS = 1_795_132_800_000  # DAY_START as epoch milliseconds
VERSION = 2  # bump when the generated data changes, so cached files are rebuilt
# The day's Posts, as one would type the query: X takes IDs in any order, so no ORDER BY.
DAY_SQL = f"SELECT id FROM tweets WHERE created_at >= '{DAY_START}' AND created_at < '{DAY_END}'"


def daily_sql(recheck_days: int) -> str:
    """The daily run's export by hand: the day's Posts or the day's rotation slot (rotation.py's rule)."""
    slot = (date.fromisoformat(DAY_START[:10]) - date(1970, 1, 1)).days % recheck_days
    return f"{DAY_SQL} OR (id % 1000003) % {recheck_days} = {slot}"


# The demo's ``tweets`` table, with only the index a partition export needs (the demo's extra
# author_id index would make every DELETE pay a random-access index update on 10M rows).
SCHEMA = """
CREATE TABLE tweets (
    id          BIGINT PRIMARY KEY,
    author_id   BIGINT NOT NULL,
    created_at  VARCHAR(32) NOT NULL,
    text        TEXT NOT NULL,
    lang        VARCHAR(8),
    place_id    VARCHAR(32),
    geo_lat     DOUBLE PRECISION,
    geo_lon     DOUBLE PRECISION
);
CREATE INDEX tweets_created_at ON tweets (created_at);
"""

# Cheap deterministic "randomness" from the row number: (i * 2654435761) mod 100 spreads well.
_FILL = """
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < :n - 1)
INSERT INTO tweets
SELECT ((:start_ms + i * :step_ms - :twepoch) << 22) | (i % 4194304),
       1000000 + (i * 7919) % 5000,
       strftime('%Y-%m-%dT%H:%M:%fZ', (:start_ms + i * :step_ms) / 1000.0, 'unixepoch'),
       'post ' || i || ' about ' || CASE i % 4 WHEN 0 THEN 'coffee and rain' WHEN 1 THEN 'the match'
            WHEN 2 THEN 'a launch tonight' ELSE 'music in the city' END,
       CASE i % 5 WHEN 0 THEN 'es' WHEN 1 THEN 'ja' ELSE 'en' END,
       CASE WHEN (i * 2654435761) % 100 < 30 THEN printf('%016x', (i * 2654435761) % 281474976710597) END,
       CASE WHEN (i * 2654435761) % 100 < 15 THEN ((i * 40503) % 13000) / 100.0 - 60 END,
       CASE WHEN (i * 2654435761) % 100 < 15 THEN ((i * 69069) % 36000) / 100.0 - 180 END
FROM s
"""


def generate(path: Path, n: int, days: int = 1) -> Path:
    """Create ``path`` with ``n`` Posts spread evenly over the ``days`` days that end with
    ``DAY_END`` (replaced if it exists)."""
    path.unlink(missing_ok=True)
    step_ms = max(1, days * 86_400_000 // max(n, 1))
    start_ms = DAY_START_MS - (days - 1) * 86_400_000
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=OFF")  # generation only: nothing to recover if it dies
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")
        db.executescript(SCHEMA)
        params = {"n": n, "start_ms": start_ms, "step_ms": step_ms, "twepoch": TWEPOCH_MS}
        with db:
            db.execute(_FILL, params)
    finally:
        db.close()
    return path


def cached_path(out_dir: Path, n: int, days: int = 1) -> Path:
    """Where the pristine warehouse for ``n`` and ``days`` is kept."""
    spread = f"-{days}d" if days > 1 else ""
    return out_dir / f"warehouse-{n}{spread}-v{VERSION}.db"


def cached(out_dir: Path, n: int, days: int = 1) -> Path:
    """The pristine warehouse for ``n`` and ``days``, generated once and reused by later runs."""
    path = cached_path(out_dir, n, days)
    if not path.exists():
        partial = path.with_suffix(".partial")
        generate(partial, n, days)
        partial.rename(path)
    return path


def copy(pristine: Path, target: Path) -> Path:
    """A private copy for a stage that changes the data (apply runs three times)."""
    shutil.copyfile(pristine, target)
    return target


@dataclass(frozen=True)
class SqliteWarehouse:
    """The pristine SQLite file, as the pipeline sees a warehouse (bench/postgres.py is the other)."""

    pristine: Path
    work: Path
    kind: str = "sqlite"

    def connection(self, database: str | None = None) -> str:
        return json.dumps({"conn_type": "sqlite", "host": database or str(self.pristine)})

    def copy(self, name: str) -> str:
        return str(copy(self.pristine, self.work / f"{name}.db"))

    def drop(self, database: str) -> None:
        Path(database).unlink(missing_ok=True)

    def warm(self) -> None:
        """Read the file once, so ours (which runs first) and the limit both find it cached: a
        previous run's copies can push it out of the page cache (ours then took 6 s, not 2.7)."""
        with self.pristine.open("rb") as fh:
            while fh.read(16 << 20):
                pass

    def export_limit(self, sql: str, destination: str) -> tuple[str, dict]:
        return "limit:export", {"db": str(self.pristine), "sql": sql, "destination": destination}

    def apply_limit(self, database: str, parquet_path: str | list[str]) -> tuple[str, dict]:
        return "limit:apply", {"db": database, "parquet_path": parquet_path}
