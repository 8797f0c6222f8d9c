"""X's verdicts applied to files, beside the limit in the same run: ``python bench/run.py --lake``.

- Parquet: N Posts as ``DAYS`` daily files (bench/lake_data.py, cached). Ours' export of a
  sweep (every Post and author ID once, as the jobs' ID files) beside DuckDB writing the same
  distinct IDs as text; ours' apply (on a fresh copy: verdicts read and checked, each file
  journaled and swapped, the audit stored) beside DuckDB doing the same rewrite
  (bench/lake_limit.py); ours' planning pass (which row groups hold a flagged Post) is also
  run alone, so its share shows. The cycle is the export and the apply (X's time is not ours).
- twarc2 JSON lines: min(N, ``TWARC_POSTS``) Posts as raw pages, ours building the manifests
  (beside orjson parsing every line once) and then ``rewrite_file`` with the manifests current
  (beside orjson parsing every line and writing it back; a plain byte copy shown too). Its
  cycle is a first sweep's: the manifests built (the export's read) and the rewrite.

Each run is its own fresh process (bench/child.py), so its peak RSS is its own; the limits run
in the bench's venv (bench/out/lake-venv, made with uv on first use). The table and targets
are report.py's; targets are shown, never asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import lake_data
import numpy as np
import pyarrow.parquet as pq
import report
from common import OUT, child_env, run_child

TWARC_POSTS = 1_000_000
LAKE_VENV = OUT / "lake-venv"
LAKE_REQUIREMENTS = ("duckdb", "orjson", "pyarrow")
UV = Path(sys.executable).parent / "uv"
EXPORT, PARQUET = "parquet export", "parquet apply"
MANIFESTS, REWRITE = "twarc manifests", "twarc rewrite"
CYCLES = {"parquet cycle": (EXPORT, PARQUET), "twarc cycle": (MANIFESTS, REWRITE)}


# --- the driver -----------------------------------------------------------------------------------


def lake_python() -> str:
    """The bench venv's interpreter, made the first time (``uv venv``, ``uv pip install``)."""
    python = LAKE_VENV / "bin" / "python"
    marker = LAKE_VENV / ".installed"
    if not marker.exists():
        print(f"creating {LAKE_VENV} (uv pip install {' '.join(LAKE_REQUIREMENTS)})", flush=True)
        shutil.rmtree(LAKE_VENV, ignore_errors=True)
        subprocess.run([str(UV), "venv", "-q", "-p", sys.executable, str(LAKE_VENV)], check=True)
        subprocess.run(
            [str(UV), "pip", "install", "-q", "--python", str(python), *LAKE_REQUIREMENTS], check=True
        )
        marker.touch()
    return str(python)


def _versions(python: str) -> dict[str, str]:
    code = "import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in %r}))"
    done = subprocess.run([python, "-I", "-c", code % (LAKE_REQUIREMENTS,)], capture_output=True, text=True)
    return json.loads(done.stdout)


def _run(target: str, env: dict[str, str], **params) -> dict:
    """One child, after the dirty pages of what ran before are written out (as ``Runner`` does)."""
    os.sync()
    result = run_child(target, env, **params)
    print(f"  {target:<28} {result['seconds']:8.2f} s  peak RSS {result['peak_rss_mb']:7.1f} MB", flush=True)
    return result


def _parquet_totals(root: Path) -> dict[str, int]:
    """Rows, and null geo values, of a dataset, from the files' footers (its audit, under
    ``.x-compliance``, is no data)."""
    totals = {"rows": 0, **{f"null_{c}": 0 for c in lake_data.GEO}}
    for path in sorted(p for p in root.rglob("*.parquet") if ".x-compliance" not in p.parts):
        meta = pq.ParquetFile(path).metadata
        totals["rows"] += meta.num_rows
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        for group in range(meta.num_row_groups):
            for column in lake_data.GEO:
                totals[f"null_{column}"] += (
                    meta.row_group(group).column(names.index(column)).statistics.null_count
                )
    return totals


def _sent(flagged: Path, to: Path) -> str:
    """An ID file of the flagged IDs, as the job's upload: what the apply checks its results
    against (a sweep sends every ID; only these matter to the check)."""
    ids = pq.read_table(flagged, columns=["id"]).column("id").to_numpy()
    to.write_text("".join(f"{i}\n" for i in ids))
    return str(to)


def _ids_written(paths: list[Path]) -> np.ndarray:
    """The IDs of ID files, one a line, sorted (read after the clocks stopped)."""
    return np.sort(np.concatenate([np.fromfile(p, dtype=np.int64, sep="\n") for p in paths]))


def export_stage(dataset: Path, made: dict, env: dict, python: str, work: Path) -> dict:
    """A sweep's export of the dataset, ours beside DuckDB's; both must name the same IDs."""
    ours_out, limit_out = work / "ours-ids", work / "duckdb-ids"
    ours = _run("lake_ours:parquet_export", env, root=str(dataset), out=str(ours_out))
    limit_out.mkdir()
    limit = _run("lake_limit:parquet_ids_duckdb", env, python=python, root=str(dataset), out=str(limit_out))
    limit["command"] = "DuckDB: COPY (SELECT DISTINCT id, then author_id FROM read_parquet(...)) TO text"
    for job_type in ("tweets", "users"):
        mine = _ids_written(sorted(ours_out.glob(f"{job_type}/part-*/ids.txt")))
        same = np.array_equal(mine, _ids_written([limit_out / f"{job_type}.txt"]))
        assert same, (
            f"ours and DuckDB exported different {job_type} IDs: {ours['ids_sent']}, {limit['ids_written']}"
        )
    shutil.rmtree(ours_out)
    shutil.rmtree(limit_out)
    ids = sum(ours["ids_sent"].values())
    return {"ids": ids, "bytes": made["bytes"], "data": made, "ours": ours, "limit": limit}


def parquet_stages(n: int, env: dict, python: str, work: Path) -> dict[str, dict]:
    folder, made = lake_data.cached("parquet", n, env)
    dataset = folder / "dataset"
    flags = {"posts": str(folder / "flagged-posts.parquet"), "users": str(folder / "flagged-users.parquet")}
    print(f"Parquet: {n:,} Posts in {made['files']} files ({made['bytes'] / 1e6:.0f} MB)", flush=True)
    export = export_stage(dataset, made, env, python, work)
    plan = _run("lake_ours:parquet_plan", env, root=str(dataset), **flags)
    ours_root = Path(shutil.copytree(dataset, work / "ours-dataset"))
    sent = {f"{kind}_sent": _sent(Path(path), work / f"sent-{kind}.txt") for kind, path in flags.items()}
    ours = _run("lake_ours:parquet_ours", env, root=str(ours_root), **flags, **sent)
    limit = _run(
        "lake_limit:parquet_duckdb",
        env,
        python=python,
        root=str(dataset),
        out=str(work / "duckdb-dataset"),
        compression=lake_data.COMPRESSION,
        row_group_rows=lake_data.ROW_GROUP_ROWS,
        **flags,
    )
    limit["command"] = (
        "DuckDB: COPY (SELECT p.* REPLACE (geo nulled) ... ANTI JOIN removed, gone authors) TO file"
    )
    written = {"ours": _parquet_totals(ours_root), "limit": _parquet_totals(work / "duckdb-dataset")}
    same = written["ours"] == written["limit"]
    assert same, f"ours and DuckDB wrote different datasets: {written}"
    shutil.rmtree(ours_root)
    shutil.rmtree(work / "duckdb-dataset")
    first = next(iter(sorted(dataset.rglob("*.parquet"))))
    made["row_group_rows"] = pq.ParquetFile(first).metadata.row_group(0).num_rows
    apply = {
        "ids": n,
        "bytes": made["bytes"],
        "data": made,
        "ours": ours,
        "limit": limit,
        "plan": plan,
        "written": written["ours"],
    }
    return {EXPORT: export, PARQUET: apply}


def twarc_stages(n: int, env: dict, python: str, work: Path) -> dict[str, dict]:
    posts = min(n, TWARC_POSTS)
    folder, made = lake_data.cached("twarc", posts, env)
    files = folder / "twarc"
    flags = {"posts": str(folder / "flagged-posts.parquet"), "users": str(folder / "flagged-users.parquet")}
    print(f"twarc2: {posts:,} Posts as {made['lines']:,} pages in {made['files']} files "
          f"({made['bytes'] / 1e6:.0f} MB)", flush=True)  # fmt: skip
    ours_root = Path(shutil.copytree(files, work / "ours-twarc"))
    manifests = _run("lake_ours:twarc_manifests", env, root=str(ours_root))
    parse = _run("lake_limit:jsonl_parse", env, python=python, root=str(files))
    parse["command"] = "for line in file: orjson.loads(line)"
    rewrite = _run("lake_ours:twarc_rewrite", env, root=str(ours_root), **flags)
    (work / "orjson").mkdir()
    roundtrip = _run(
        "lake_limit:jsonl_roundtrip", env, python=python, root=str(files), out=str(work / "orjson")
    )
    roundtrip["command"] = "for line in file: out.write(orjson.dumps(orjson.loads(line)) + b'\\n')"
    copy = _run("lake_limit:byte_copy", env, python=python, root=str(files), out=str(work / "orjson"))
    shutil.rmtree(ours_root)
    shutil.rmtree(work / "orjson")
    common = {"ids": posts, "bytes": made["bytes"], "data": made}
    return {
        MANIFESTS: {**common, "ours": manifests, "limit": parse},
        REWRITE: {**common, "ours": rewrite, "limit": roundtrip, "byte_copy": copy},
    }


def bench(n: int, keep: bool = False) -> dict:
    """Both formats at N; the document for results-lake-N.json."""
    document: dict = {"n": n, "load_average_at_start": os.getloadavg()}
    python = lake_python()
    document["limit_venv"] = _versions(python)
    work = Path(tempfile.mkdtemp(prefix=f"work-lake-{n}-", dir=OUT))
    try:
        home = work / "airflow"
        home.mkdir()
        env = child_env(home, None, {})
        stages = {**parquet_stages(n, env, python, work), **twarc_stages(n, env, python, work)}
    finally:
        if keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    document["load_average_at_end"] = os.getloadavg()
    document["stages"] = stages
    document["table"] = report.rows(stages, cycles=CYCLES)
    return document


def _peaks_elsewhere(n: int) -> list[str]:
    """Ours' peak RSS per stage in every other results-lake-*.json, to see it flat in N."""
    lines = []
    for path in sorted(OUT.glob("results-lake-*.json")):
        other = json.loads(path.read_text())
        if other.get("n") != n and "stages" in other:
            peaks = ", ".join(
                f"{name} {s['ours']['peak_rss_mb']:.0f} MB" for name, s in other["stages"].items()
            )
            lines.append(f"  at N = {other['n']:,}: {peaks}")
    return lines


def _ours_memory(what: str, ours: dict) -> str:
    audit = (
        f"the audit returned weighs {ours['audit_mb']:.0f} MB"
        if "audit_mb" in ours
        else f"{ours['audit_rows']:,} audit rows stored beside the dataset"
    )
    return (
        f"{what}, ours: peak RSS {ours['import_rss_mb']:.0f} MB with imports, "
        f"{ours['verdicts_peak_rss_mb']:.0f} MB once the verdicts were read ({ours['verdicts_s']:.2f} s), "
        f"{ours['peak_rss_mb']:.0f} MB at the end; {audit}"
    )


def table(document: dict) -> str:
    stages = document["stages"]
    parquet, rewrite = stages[PARQUET], stages[REWRITE]
    plan, copy = parquet["plan"], rewrite["byte_copy"]
    load = {
        when: " ".join(f"{x:.2f}" for x in document[f"load_average_at_{when}"]) for when in ("start", "end")
    }
    lines = [
        f"load average at start {load['start']}, at end {load['end']}; limits: "
        + ", ".join(f"{k} {v}" for k, v in document["limit_venv"].items()),
        report.table(document["n"], document["table"]),
        f"Parquet: ours' planning pass alone {plan['seconds']:.2f} s (peak RSS {plan['peak_rss_mb']:.0f} MB, "
        f"{plan['row_groups_to_change']} groups to change); DuckDB {parquet['limit']['threads']} threads, "
        f"{parquet['limit']['cpu_seconds']:.2f} CPU s, ours {parquet['ours']['cpu_seconds']:.2f} CPU s; "
        f"row groups of {parquet['data']['row_group_rows']:,} rows",
        _ours_memory("Parquet", parquet["ours"]),
        f"Parquet changes: {parquet['ours']['changes']}; rows written, each: {parquet['written']['rows']:,}",
        f"twarc2: byte copy {copy['seconds']:.2f} s (peak RSS {copy['peak_rss_mb']:.0f} MB); "
        f"changes {rewrite['ours']['changes']}",
        _ours_memory("twarc2 rewrite", rewrite["ours"]),
        report.limit_commands(stages),
    ]
    elsewhere = _peaks_elsewhere(document["n"])
    if elsewhere:
        lines += ["ours' peak RSS at other N (memory flat in N):", *elsewhere]
    return "\n".join(lines)


def main(n: int, keep: bool = False) -> None:
    """Run, print, write bench/out/results-lake-N.json."""
    document = bench(n, keep)
    print()
    print(table(document))
    path = OUT / f"results-lake-{n}.json"
    report.write_json(path, document)
    print(f"\nwrote {path}")
