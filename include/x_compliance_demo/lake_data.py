"""Small datasets in each format the files DAG reads, made from the demo warehouse's newest
Posts: twarc2 pages (with the recorded samples beside them), a Parquet dataset by day, and a
Delta Lake table, each under its own root."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import write_deltalake

from x_compliance_demo.stack import PROJECT

SAMPLES = PROJECT / "tests" / "fixtures" / "twarc2"
COLUMNS = ["id", "author_id", "created_at", "text", "lang", "place_id", "geo_lat", "geo_lon"]
PER_PAGE = 100


def newest_posts(db: Path, days: int) -> pd.DataFrame:
    """The warehouse's Posts of its ``days`` newest days, with their day."""
    with sqlite3.connect(db) as conn:
        frame = pd.read_sql_query(
            f"SELECT {', '.join(COLUMNS)} FROM tweets "
            "WHERE created_at >= (SELECT date(MAX(created_at), ?) FROM tweets) ORDER BY id",
            conn,
            params=(f"-{days - 1} days",),
        )
    return frame.assign(date=frame["created_at"].str[:10])


def write_twarc2(posts: pd.DataFrame, root: Path) -> None:
    """One file of recent-search pages per day (``data``, ``includes.places``), plus the samples."""
    for day, rows in posts.groupby("date"):
        lines = [_page(rows.iloc[at : at + PER_PAGE]) for at in range(0, len(rows), PER_PAGE)]
        (root / "pages").mkdir(parents=True, exist_ok=True)
        (root / "pages" / f"{day}.jsonl").write_text("".join(json.dumps(p) + "\n" for p in lines))
    shutil.copytree(SAMPLES, root / "samples", ignore=shutil.ignore_patterns("*.md", "streaming_*"))


def _page(rows: pd.DataFrame) -> dict:
    data, places = [], {}
    for row in rows.itertuples():
        post = {"id": str(row.id), "text": row.text, "author_id": str(row.author_id), "lang": row.lang}
        post["created_at"] = row.created_at
        if pd.notna(row.place_id):  # the warehouse's NULL comes back as NaN
            post["geo"] = {"place_id": row.place_id}
            if pd.notna(row.geo_lat):
                post["geo"]["coordinates"] = {"type": "Point", "coordinates": [row.geo_lon, row.geo_lat]}
            places[row.place_id] = {"id": row.place_id, "full_name": "Somewhere"}
        data.append(post)
    page = {"data": data, "meta": {"result_count": len(data)}}
    if places:
        page["includes"] = {"places": list(places.values())}
    return page


def write_parquet(posts: pd.DataFrame, root: Path) -> None:
    """``root/date=DAY/part-0.parquet``."""
    for day, rows in posts.groupby("date"):
        folder = root / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(rows[COLUMNS], preserve_index=False), folder / "part-0.parquet")


def write_delta(posts: pd.DataFrame, table: Path) -> None:
    """One Delta table partitioned by day, a commit per day."""
    for _, rows in posts.groupby("date"):
        write_deltalake(
            table, pa.Table.from_pandas(rows, preserve_index=False), partition_by=["date"], mode="append"
        )


def build(db: Path, folder: Path, *, days: int = 3) -> dict[str, Path]:
    """Each format's dataset root under ``folder``, from the warehouse's newest ``days``."""
    posts = newest_posts(db, days)
    roots = {name: folder / name for name in ("twarc2", "parquet", "delta")}
    write_twarc2(posts, roots["twarc2"])
    write_parquet(posts, roots["parquet"])
    write_delta(posts, roots["delta"] / "posts")  # the root holds tables; the audit goes beside them
    return roots
