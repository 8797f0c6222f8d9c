"""Generated Post tables like the demo warehouse's ``tweets`` (snowflake IDs minted on their
day, authors from a pool, geo on a share), the verdicts chosen from them, and what a table must
hold after the verdicts, worked out with plain pandas apart from the code under test.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.lake.conftest import POST_REASONS, USER_REASONS
from tests.lake.truth import CASCADING, Flags

TWEPOCH_MS = 1_288_834_974_657
AUTHORS = [10_000_000 + 7 * k for k in range(60)]
GEO = ["geo_lat", "geo_lon", "place_id"]
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


def posts_of_day(day: date, count: int, seed: int) -> pd.DataFrame:
    """``count`` Posts of ``day``, sorted by ID as a collector writes them."""
    rng = random.Random(f"{day}-{seed}")
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows = []
    for _ in range(count):
        moment = start + timedelta(milliseconds=rng.randrange(86_400_000))
        ms = int(moment.timestamp() * 1000) - TWEPOCH_MS
        place = rng.random() < 0.3
        point = place and rng.random() < 0.5
        rows.append(
            (
                (ms << 22) | rng.randrange(1 << 22),
                rng.choice(AUTHORS),
                moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                f"post of {day} caf\u00e9 {rng.randrange(1000)}",
                rng.choice(["en", "de", "ja", None]),
                f"{rng.getrandbits(64):016x}" if place else None,
                round(rng.uniform(-60, 70), 6) if point else None,
                round(rng.uniform(-180, 180), 6) if point else None,
            )
        )
    frame = pd.DataFrame(rows, columns=SCHEMA.names).sort_values("id", ignore_index=True)
    return frame


def as_table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)


def write_day(
    root: Path, day: date, frame: pd.DataFrame, *, name: str = "part-0", row_group: int = 50
) -> Path:
    """``frame`` as ``root/date=DAY/NAME.parquet``, ``row_group`` rows a row group."""
    folder = root / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.parquet"
    pq.write_table(as_table(frame), path, row_group_size=row_group, compression="zstd")
    return path


def write_dataset(root: Path, days: int = 4, per_day: int = 200, seed: int = 0) -> dict[Path, pd.DataFrame]:
    """A dataset of ``days`` days, each file also holding a few Posts of the day before
    (duplicates across files), and an old day added last (a late partition)."""
    first = date(2026, 11, 1)
    frames = {
        first + timedelta(days=k): posts_of_day(first + timedelta(days=k), per_day, seed) for k in range(days)
    }
    written: dict[Path, pd.DataFrame] = {}
    previous = None
    for day, frame in frames.items():
        if previous is not None:
            frame = pd.concat([frame, previous.sample(10, random_state=seed)]).sort_values(
                "id", ignore_index=True
            )
        written[write_day(root, day, frame)] = frame
        previous = frames[day]
    late = date(2026, 6, 30)
    written[write_day(root, late, posts_of_day(late, per_day // 2, seed))] = posts_of_day(
        late, per_day // 2, seed
    )
    return written


def choose_post_flags(frames: list[pd.DataFrame], seed: int, share: float = 0.1) -> Flags:
    """About ``share`` of the Posts flagged (every reason; Posts with geo often ``scrub_geo``),
    a few authors flagged (every user reason), and IDs the data does not hold."""
    rng = random.Random(seed)
    every = pd.concat(frames).drop_duplicates("id")
    flags = Flags()
    for pid, lat, place in zip(every["id"], every["geo_lat"], every["place_id"], strict=True):
        if rng.random() < share:
            has_geo = place is not None or not np.isnan(lat)
            reason = "scrub_geo" if has_geo and rng.random() < 0.5 else rng.choice(POST_REASONS)
            flags.posts[str(pid)] = reason
    for k, uid in enumerate(rng.sample(AUTHORS, len(USER_REASONS) + 2)):
        flags.users[str(uid)] = USER_REASONS[k % len(USER_REASONS)]
    flags.posts[str(every["id"].max() + 1)] = "deleted"  # not in the data
    return flags


def expected(frame: pd.DataFrame, flags: Flags) -> pd.DataFrame:
    """What ``frame`` must hold after ``flags``: removed Posts and the Posts of removed authors
    gone, the geo of ``scrub_geo`` Posts null."""
    own = frame["id"].astype(str).map(flags.posts)
    author = frame["author_id"].astype(str).map(flags.users)
    goes = (own.notna() & (own != "scrub_geo")) | author.isin(CASCADING)
    kept = frame[~goes].copy()
    scrub = own[~goes] == "scrub_geo"
    kept.loc[scrub, GEO] = None
    return kept.reset_index(drop=True)


def changed_rows(frame: pd.DataFrame, flags: Flags) -> int:
    """How many rows of ``frame`` ``flags`` change (a scrub only where the row has geo)."""
    own = frame["id"].astype(str).map(flags.posts)
    author = frame["author_id"].astype(str).map(flags.users)
    goes = (own.notna() & (own != "scrub_geo")) | author.isin(CASCADING)
    has_geo = frame[GEO].notna().any(axis=1)
    return int(goes.sum() + ((own == "scrub_geo") & ~goes & has_geo).sum())


def read(path: Path) -> pd.DataFrame:
    return pq.read_table(path, schema=SCHEMA).to_pandas()


def assert_same(actual: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        actual.reset_index(drop=True), as_table(want).to_pandas().reset_index(drop=True), check_dtype=True
    )
