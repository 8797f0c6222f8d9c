"""The lake benchmark's data, made once and cached in bench/out: a Parquet dataset of Posts by
day, twarc2 JSON-lines files of raw pages, and X's verdicts for each.

The Parquet dataset has the columns of ``tests/lake/parquet_posts.py`` (the demo warehouse's
``tweets``): N Posts over ``DAYS`` days as ``root/date=DAY/part-0.parquet``, sorted by ID
(snowflakes minted on their day), ``ROW_GROUP_ROWS`` rows a row group, zstd, made with numpy a
day at a time. The twarc2 files are ``tests/lake/generate.py``'s pages (100 Posts a line, with
``includes``), written a page at a time. The verdicts are the emulator's own, at its default
rates (``x_compliance_emulator.world.fates.FateModel``, seed 0): about 8.5% of the Posts and
6% of the authors flagged, as an X compliance job against the emulator would return them.
Each verdict file is Parquet with X's ``id`` and ``reason``, as the download step writes it.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from common import OUT, run_child

DAYS = 30
FIRST_DAY = date(2026, 10, 22)
TWEPOCH_MS = 1_288_834_974_657
ROW_GROUP_ROWS = 122_880  # DuckDB's writer's default, so both sides write row groups alike
COMPRESSION = "zstd"
AUTHORS = 200_000
PLACES = 20_000
WORDS = (
    "the", "a", "compliance", "data", "lake", "post", "today", "news", "city",
    "rain", "sun", "match", "vote", "music", "film", "new", "old",
)  # fmt: skip
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("author_id", pa.int64()),
        ("created_at", pa.string()),
        ("text", pa.string()),
        ("lang", pa.string()),
        ("place_id", pa.string()),
        ("geo_lat", pa.float64()),
        ("geo_lon", pa.float64()),
    ]
)
GEO = ("place_id", "geo_lat", "geo_lon")
SEED = 0
POSTS_PER_PAGE = 100
TWARC_FILES = 10


def _author_ids() -> np.ndarray:
    return 10_000_000 + 7 * np.arange(AUTHORS, dtype=np.int64)


def posts_of_day(day: date, count: int, seed: int) -> pa.Table:
    """``count`` Posts of ``day`` sorted by ID: 30% with a place, half of those with a point."""
    rng = np.random.default_rng([seed, day.toordinal()])
    start_ms = int(np.datetime64(day.isoformat(), "ms").astype(np.int64))
    ms = np.sort(start_ms + rng.integers(0, 86_400_000, count, dtype=np.int64))
    ids = ((ms - TWEPOCH_MS) << 22) | rng.integers(0, 1 << 22, count, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    ms, ids = ms[order], ids[order]
    seconds = pa.array((ms // 1000).astype("datetime64[s]"))
    created = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S.000Z")
    sentences = np.array(
        [" ".join(rng.choice(WORDS, int(rng.integers(6, 24)))) + " caf\u00e9" for _ in range(997)],
        dtype=object,
    )
    text = pc.binary_join_element_wise(
        pa.array(sentences[rng.integers(0, len(sentences), count)]), pc.cast(pa.array(ids), pa.string()), " #"
    )
    langs = np.array(["en", "de", "ja", "es", None], dtype=object)
    place = rng.random(count) < 0.3
    point = place & (rng.random(count) < 0.5)
    place_names = np.array([f"{k * 0x9E3779B1 % (1 << 64):016x}" for k in range(PLACES)], dtype=object)
    place_id = np.where(place, place_names[rng.integers(0, PLACES, count)], None)
    lat = np.where(point, np.round(rng.uniform(-60, 70, count), 6), np.nan)
    lon = np.where(point, np.round(rng.uniform(-180, 180, count), 6), np.nan)
    return pa.table(
        [
            pa.array(ids),
            pa.array(_author_ids()[rng.integers(0, AUTHORS, count)]),
            created,
            text,
            pa.array(langs[rng.integers(0, len(langs), count)], pa.string()),
            pa.array(place_id, pa.string()),
            pa.array(lat, mask=~point),
            pa.array(lon, mask=~point),
        ],
        schema=SCHEMA,
    )


def _fates(job_type: str, ids: np.ndarray) -> pa.Table:
    """The emulator's verdicts, at its default rates, for ``ids``: ``id`` and ``reason``."""
    from x_compliance_emulator.runtime.config import default_tweet_rates, default_user_rates
    from x_compliance_emulator.world.fates import COMPLIANT, REASONS, FateModel

    rates = default_tweet_rates() if job_type == "tweets" else default_user_rates()
    codes = FateModel(SEED, job_type, rates, None).codes(ids.astype(np.uint64))
    flagged = codes != COMPLIANT
    names = np.array(REASONS, dtype=object)[codes[flagged]]
    return pa.table({"id": ids[flagged], "reason": pa.array(names, pa.string())})


def _write_verdicts(folder: Path, post_ids: list[np.ndarray], author_ids: np.ndarray) -> dict:
    posts = pa.concat_tables([_fates("tweets", ids) for ids in post_ids])
    users = _fates("users", author_ids)
    pq.write_table(posts, folder / "flagged-posts.parquet")
    pq.write_table(users, folder / "flagged-users.parquet")
    return {"flagged_posts": posts.num_rows, "flagged_users": users.num_rows}


def make_parquet(root: str, n: int) -> dict:
    """``child.py`` target: the dataset of ``n`` Posts under ``root/dataset`` and its verdicts
    beside it; ``done.json`` last, so an interrupted build is made again."""
    folder = Path(root)
    dataset = folder / "dataset"
    ids = []
    for k in range(DAYS):
        day = FIRST_DAY + timedelta(days=k)
        table = posts_of_day(day, n // DAYS + (k < n % DAYS), SEED)
        (dataset / f"date={day.isoformat()}").mkdir(parents=True, exist_ok=True)
        path = dataset / f"date={day.isoformat()}" / "part-0.parquet"
        pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS, compression=COMPRESSION)
        ids.append(table.column("id").to_numpy())
    summary = {"posts": n, "files": DAYS, **_write_verdicts(folder, ids, _author_ids())}
    summary["bytes"] = sum(p.stat().st_size for p in dataset.rglob("*.parquet"))
    (folder / "done.json").write_text(json.dumps(summary))
    return summary


def make_twarc(root: str, posts: int) -> dict:
    """``child.py`` target: ``posts`` Posts as twarc2 raw pages (``tests/lake/generate.py``) in
    ``TWARC_FILES`` files under ``root/twarc``, and their verdicts beside them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests package
    from tests.lake import generate

    folder = Path(root)
    (folder / "twarc").mkdir(parents=True, exist_ok=True)
    per_file = -(-posts // TWARC_FILES)
    lines = 0
    for k in range(TWARC_FILES):
        first = generate.FIRST_POST + k * per_file
        last = min(generate.FIRST_POST + posts, first + per_file)
        with (folder / "twarc" / f"search-{k:03d}.jsonl").open("w") as out:
            for start in range(first, last, POSTS_PER_PAGE):
                out.write(json.dumps(generate.page(start, min(POSTS_PER_PAGE, last - start))) + "\n")
                lines += 1
    post_ids = np.arange(generate.FIRST_POST, generate.FIRST_POST + posts, dtype=np.int64)
    user_ids = np.arange(generate.FIRST_USER, generate.FIRST_USER + generate.USERS, dtype=np.int64)
    summary = {
        "posts": posts,
        "files": TWARC_FILES,
        "lines": lines,
        **_write_verdicts(folder, [post_ids], user_ids),
    }
    summary["bytes"] = sum(p.stat().st_size for p in (folder / "twarc").glob("*.jsonl"))
    (folder / "done.json").write_text(json.dumps(summary))
    return summary


def cached(kind: str, n: int, env: dict[str, str]) -> tuple[Path, dict]:
    """The cached data of ``kind`` (``parquet`` or ``twarc``) for ``n`` Posts, made on first use."""
    folder = OUT / f"lake-{kind}-{n}"
    done = folder / "done.json"
    if not done.exists():
        print(f"making {folder.name} (once)", flush=True)
        target = "lake_data:make_parquet" if kind == "parquet" else "lake_data:make_twarc"
        made = run_child(target, env, root=str(folder), **({"n": n} if kind == "parquet" else {"posts": n}))
        print(f"  made in {made['seconds']:.1f} s", flush=True)
    return folder, json.loads(done.read_text())
