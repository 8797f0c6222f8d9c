"""The limits of the lake benchmark, run by ``child.py`` in the bench's own venv
(bench/out/lake-venv: DuckDB and orjson, never dependencies of the project).

- Parquet's export: DuckDB writing every distinct Post ID and author ID of the dataset as text,
  one file each.
- Parquet: DuckDB doing the rewrite ours does, file by file: read the file, drop the flagged
  Posts that go and the Posts of authors whose removal cascades, set the geo columns to null
  for ``scrub_geo``, write Parquet with the same codec and row group size.
- twarc2 JSON lines: one streaming pass that parses every line once with orjson (and, for the
  rewrite, writes it back); a plain byte copy beside them for reference.
Imported with this module, before the clock starts, as ours has the provider loaded.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson

REMOVES_NOT = ("scrub_geo",)  # a Post flagged with any other reason goes
CASCADES = ("deleted", "deactivated", "protected", "suspended")  # warehouse.tables.CASCADE_REASONS
GEO = ("place_id", "geo_lat", "geo_lon")
BLOCK = 1 << 20


def _files(root: str, pattern: str) -> list[Path]:
    """The data files under ``root``, as ours finds them: none in or named for hidden folders."""
    found = Path(root).rglob(pattern)
    return sorted(p for p in found if not any(n.startswith((".", "_")) for n in p.relative_to(root).parts))


def parquet_ids_duckdb(root: str, out: str) -> dict:
    """Each Post ID and author ID of the dataset once, one per line, a file for each kind."""
    db = duckdb.connect()
    db.execute("SET enable_progress_bar = false")
    files = f"read_parquet({[str(p) for p in _files(root, '*.parquet')]!r})"
    written = {}
    for job_type, column in (("tweets", "id"), ("users", "author_id")):
        target = Path(out) / f"{job_type}.txt"
        copied = db.execute(  # as ours: no null, no negative
            f"COPY (SELECT DISTINCT {column} FROM {files} WHERE {column} >= 0) "
            f"TO '{target}' (FORMAT csv, HEADER false)"
        )
        written[job_type] = copied.fetchone()[0]  # COPY answers with the rows it wrote
    return {"ids_written": written}


def parquet_duckdb(
    root: str, out: str, posts: str, users: str, compression: str, row_group_rows: int
) -> dict:
    """The dataset at ``root`` rewritten into ``out`` (same layout); DuckDB's own defaults
    otherwise (its threads included)."""
    db = duckdb.connect()
    db.execute(f"CREATE TABLE posts AS SELECT id, reason FROM read_parquet('{posts}')")
    db.execute(f"CREATE TABLE removed AS SELECT DISTINCT id FROM posts WHERE reason NOT IN {REMOVES_NOT!r}")
    db.execute("CREATE TABLE scrub AS SELECT DISTINCT id FROM posts WHERE reason IN ('scrub_geo')")
    db.execute(
        f"CREATE TABLE gone AS SELECT DISTINCT id FROM read_parquet('{users}') WHERE reason IN {CASCADES}"
    )
    nulled = ", ".join(f"CASE WHEN s.id IS NULL THEN p.{c} END AS {c}" for c in GEO)
    rows = 0
    for source in _files(root, "*.parquet"):
        target = Path(out) / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        db.execute(
            f"COPY (SELECT p.* REPLACE ({nulled}) FROM read_parquet('{source}') p "
            "ANTI JOIN removed r ON p.id = r.id ANTI JOIN gone g ON p.author_id = g.id "
            f"LEFT JOIN scrub s ON p.id = s.id) TO '{target}' "
            f"(FORMAT parquet, COMPRESSION {compression}, ROW_GROUP_SIZE {row_group_rows})"
        )
        rows += db.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]
    return {"rows_written": rows, "threads": db.execute("SELECT current_setting('threads')").fetchone()[0]}


def jsonl_parse(root: str) -> dict:
    """Every line of every file parsed once (orjson), nothing written."""
    lines = 0
    for source in _files(root, "*.jsonl"):
        with source.open("rb") as src:
            for line in src:
                orjson.loads(line)
                lines += 1
    return {"lines": lines}


def jsonl_roundtrip(root: str, out: str) -> dict:
    """Every line parsed once (orjson) and written back, file by file, streaming."""
    lines = 0
    for source in _files(root, "*.jsonl"):
        with source.open("rb") as src, (Path(out) / source.name).open("wb") as dst:
            for line in src:
                dst.write(orjson.dumps(orjson.loads(line)) + b"\n")
                lines += 1
    return {"lines": lines}


def byte_copy(root: str, out: str) -> dict:
    """The files copied as bytes, a MB at a time: what reading and writing them costs alone."""
    copied = 0
    for source in _files(root, "*.jsonl"):
        with source.open("rb") as src, (Path(out) / source.name).open("wb") as dst:
            while block := src.read(BLOCK):
                copied += dst.write(block)
    return {"bytes_copied": copied}
