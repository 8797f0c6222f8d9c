""" "The naive way", as X's sample code teaches it: whole files in memory, one object per line.

These are the baselines our streaming code must beat on memory; they are often fast enough
on time, which is the point of measuring both.
"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import requests

from x_compliance.hooks.x_compliance import XComplianceHook


def export(db: str, sql: str, destination: str) -> dict:
    with sqlite3.connect(db) as conn:
        frame = pd.read_sql(sql, conn)
    conn.close()
    with open(destination, "w") as out:
        out.write("\n".join(frame["id"].astype(str)) + "\n")
    return {"tool": "pandas.read_sql + join"}


def upload(ids_path: str) -> dict:
    job = XComplianceHook().create_job("tweets")
    with open(ids_path, "rb") as fh:
        whole = fh.read()
    response = requests.put(job.upload_url, data=whole, headers={"Content-Type": "text/plain"})
    response.raise_for_status()
    return {"job_id": job.id, "tool": "read() + requests.put"}


def download(job_id: str) -> dict:
    job = XComplianceHook().get_job(job_id)
    lines = requests.get(job.download_url).text.splitlines()
    results = [json.loads(line) for line in lines if line]
    return {"rows": len(results), "tool": "requests.get().text.splitlines() + json.loads"}


def parse(raw_path: str, parquet_path: str) -> dict:
    with open(raw_path) as fh:
        results = [json.loads(line) for line in fh if line.strip()]
    frame = pd.DataFrame(results).drop_duplicates("id")
    frame.to_parquet(parquet_path)
    return {"rows": len(frame), "tool": "json.loads per line + DataFrame.to_parquet"}


def apply(db: str, parquet_path: str, start: str, end: str) -> dict:
    """Load the whole partition, merge, then delete and scrub row by row with executemany."""
    results = pd.read_parquet(parquet_path, columns=["id", "reason"])
    results["id"] = results["id"].astype("int64")
    with sqlite3.connect(db) as conn:
        partition = pd.read_sql(
            "SELECT * FROM tweets WHERE created_at >= ? AND created_at < ?", conn, params=(start, end)
        )
        flagged = partition.merge(results, on="id")
        scrub = flagged["reason"] == "scrub_geo"
        conn.executemany("DELETE FROM tweets WHERE id = ?", [(int(i),) for i in flagged.loc[~scrub, "id"]])
        conn.executemany(
            "UPDATE tweets SET place_id = NULL, geo_lat = NULL, geo_lon = NULL WHERE id = ?",
            [(int(i),) for i in flagged.loc[scrub, "id"]],
        )
    conn.close()
    return {"deleted": int((~scrub).sum()), "tool": "pandas.read_sql + merge + executemany"}
