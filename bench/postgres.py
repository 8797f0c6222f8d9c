"""The benchmark's PostgreSQL warehouse, and the limits there: ``psql`` doing the same work.

A throwaway cluster from Debian's ``postgresql`` (:func:`x_compliance_demo.services.postgres`)
holds the same N Posts as the SQLite warehouse (bench/warehouse.py's ids, the same columns),
generated in SQL by ``generate_series``; ``created_at`` is ``timestamptz`` or text. Each stage
that changes data gets its own copy (``CREATE DATABASE ... TEMPLATE``).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import limit
import warehouse

from x_compliance_demo.services import Postgres, postgres
from x_compliance_demo.warehouse import TWEPOCH_MS

PRISTINE = "pristine"
_PSQL = ("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1")
_CREATED_AT = {
    "timestamptz": ("timestamptz", "to_timestamp(ms / 1000.0)"),
    "text": ("varchar(32)", """to_char(to_timestamp(ms / 1000.0), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""),
}


def _fill(n: int, days: int, created_at: str) -> str:
    column, value = _CREATED_AT[created_at]
    step_ms = max(1, days * 86_400_000 // max(n, 1))
    start_ms = warehouse.DAY_START_MS - (days - 1) * 86_400_000
    h = "(i * 2654435761) % 100"
    return f"""
CREATE TABLE tweets (
    id BIGINT PRIMARY KEY, author_id BIGINT NOT NULL, created_at {column} NOT NULL, text TEXT NOT NULL,
    lang VARCHAR(8), place_id VARCHAR(32), geo_lat DOUBLE PRECISION, geo_lon DOUBLE PRECISION
);
INSERT INTO tweets
SELECT ((ms - {TWEPOCH_MS}) << 22) | (i % 4194304), 1000000 + (i * 7919) % 5000, {value},
       'post ' || i || ' about ' || CASE i % 4 WHEN 0 THEN 'coffee and rain' WHEN 1 THEN 'the match'
            WHEN 2 THEN 'a launch tonight' ELSE 'music in the city' END,
       CASE i % 5 WHEN 0 THEN 'es' WHEN 1 THEN 'ja' ELSE 'en' END,
       CASE WHEN {h} < 30 THEN lpad(to_hex((i * 2654435761) % 281474976710597), 16, '0') END,
       CASE WHEN {h} < 15 THEN ((i * 40503) % 13000) / 100.0 - 60 END,
       CASE WHEN {h} < 15 THEN ((i * 69069) % 36000) / 100.0 - 180 END
FROM (SELECT i, {start_ms} + i * {step_ms} AS ms FROM generate_series(0::bigint, {n - 1}) AS i) AS s;
CREATE INDEX tweets_created_at ON tweets (created_at);
"""


@dataclass(frozen=True)
class PostgresWarehouse:
    """The running cluster with its pristine database; ``copy`` makes a private one."""

    cluster: Postgres
    created_at: str

    def connection(self, database: str | None = None) -> str:
        return self.cluster.airflow_conn(database or PRISTINE)

    def psql(self, database: str, *args: str, script: str | None = None) -> subprocess.CompletedProcess:
        command = [*_PSQL, "-p", str(self.cluster.port), "-U", self.cluster.user, "-d", database, *args]
        return subprocess.run(command, input=script, text=True, check=True, capture_output=True)

    kind = "postgres"

    def copy(self, name: str) -> str:
        name = name.replace("-", "_")
        self.psql("postgres", "-c", f'CREATE DATABASE "{name}" TEMPLATE {PRISTINE}')
        return name

    def drop(self, database: str) -> None:
        self.psql("postgres", "-c", f'DROP DATABASE IF EXISTS "{database}"')

    def warm(self) -> None:
        """Read the table once (into the OS cache), as bench/warehouse.py does for SQLite."""
        self.psql(PRISTINE, "-c", "SELECT count(*) FROM tweets")

    def export_limit(self, sql: str, destination: str) -> tuple[str, dict]:
        return "postgres:export", {
            "port": self.cluster.port,
            "database": PRISTINE,
            "sql": sql,
            "destination": destination,
        }

    def apply_limit(self, database: str, parquet_path: str | list[str]) -> tuple[str, dict]:
        return "postgres:apply", {
            "port": self.cluster.port,
            "database": database,
            "parquet_path": parquet_path,
        }


@contextmanager
def running(n: int, days: int = 1, created_at: str = "timestamptz") -> Iterator[PostgresWarehouse]:
    """A cluster holding the N-row warehouse (generated anew: a cluster lives for one run)."""
    with postgres(databases=(PRISTINE,)) as cluster:
        pg = PostgresWarehouse(cluster, created_at)
        pg.psql("postgres", "-c", "ALTER ROLE postgres SET timezone TO 'UTC'")
        pg.psql(PRISTINE, script=_fill(n, days, created_at))
        pg.psql(PRISTINE, "-c", "VACUUM ANALYZE tweets")
        yield pg


# -- the limits: psql alone, run in a child like every other stage ------------------------------


def _psql(port: int, database: str, script: str) -> float:
    started = time.perf_counter()
    command = [*_PSQL, "-p", str(port), "-U", "postgres", "-d", database]
    subprocess.run(command, input=script, text=True, check=True)
    return time.perf_counter() - started


def export(port: int, database: str, sql: str, destination: str) -> dict:
    seconds = _psql(port, database, f"\\copy ({sql}) TO '{destination}'\n")
    return {
        "seconds": seconds,
        "tool": "psql \\copy (query) TO file",
        "command": "psql -c '\\copy (...) TO ids.txt'",
    }


def apply(port: int, database: str, parquet_path: str | list[str]) -> dict:
    """psql doing the apply's work: \\copy the flagged IDs in, audit, delete, scrub, commit."""
    csv_path = f"/tmp/xc-bench-flagged-{database}.csv"
    limit.flagged_csv(parquet_path, csv_path)
    script = (
        "BEGIN;\nCREATE TEMP TABLE flagged (id BIGINT PRIMARY KEY, reason TEXT, change TEXT);\n"
        f"\\copy flagged FROM '{csv_path}' (FORMAT csv)\n{limit.APPLY_SQL}COMMIT;\n"
    )
    try:
        seconds = _psql(port, database, script)
    finally:
        os.unlink(csv_path)
    counts = subprocess.run(
        [*_PSQL, "-p", str(port), "-U", "postgres", "-d", database, "-At", "-F", " ", "-c", limit.AUDITED],
        text=True, check=True, capture_output=True,
    ).stdout  # fmt: skip
    audited = dict(line.split() for line in counts.splitlines())
    return {
        "deleted": int(audited.get("deleted", 0)),
        "geo_scrubbed": int(audited.get("geo_scrubbed", 0)),
        "seconds": seconds,
        "tool": "psql: \\copy in, audit INSERT ... SELECT, DELETE, UPDATE, COMMIT",
        "command": "psql -f apply.sql",
    }
