"""Seed a demo SQLite warehouse that looks like what people store from X.

``tweets`` and ``users`` tables with snowflake IDs consistent with ``created_at`` (as X mints
them), authors drawn from ``users``, and geo columns on a share of Posts. Deterministic from
the seed. Run ``python -m x_compliance_demo.warehouse --help``.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

TWEPOCH_MS = 1_288_834_974_657  # X's snowflake epoch (2010-11-04)
SNOWFLAKE_START = datetime(2010, 11, 4, 1, 42, 54, 657000, tzinfo=UTC)
LANGS = ["en", "en", "en", "es", "ja", "pt", "fr", "de", "ar", "und"]
CITIES = ["Berlin", "Lagos", "São Paulo", "Tokyo", "Toronto", "Mumbai", "Paris", "Austin, TX", None, None]
WORDS = [
    "data",
    "stream",
    "rain",
    "coffee",
    "launch",
    "match",
    "vote",
    "train",
    "music",
    "city",
    "night",
    "code",
    "morning",
    "news",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id          BIGINT PRIMARY KEY,
    username    VARCHAR(50) NOT NULL,
    created_at  VARCHAR(32) NOT NULL,
    location    VARCHAR(100),
    description TEXT,
    followers   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tweets (
    id          BIGINT PRIMARY KEY,
    author_id   BIGINT NOT NULL,
    created_at  VARCHAR(32) NOT NULL,
    text        TEXT NOT NULL,
    lang        VARCHAR(8),
    place_id    VARCHAR(32),
    geo_lat     DOUBLE PRECISION,
    geo_lon     DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS tweets_created_at ON tweets (created_at);
CREATE INDEX IF NOT EXISTS tweets_author_id ON tweets (author_id);
"""


def iso(moment: datetime) -> str:
    """The one timestamp format of the warehouse: ISO 8601 UTC with milliseconds, as X writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def snowflake(moment: datetime, rng: random.Random) -> int:
    ms = int(moment.timestamp() * 1000) - TWEPOCH_MS
    return (ms << 22) | rng.randrange(1 << 22)


def snowflake_time(snowflake_id: int) -> datetime:
    return datetime.fromtimestamp(((snowflake_id >> 22) + TWEPOCH_MS) / 1000, tz=UTC)


def _users(count: int, rng: random.Random) -> Iterator[tuple]:
    for i in range(count):
        if rng.random() < 0.2:  # pre-2010 accounts have small sequential ids
            user_id = rng.randrange(12, 200_000_000)
            created = datetime(2006, 7, 15, tzinfo=UTC) + timedelta(seconds=rng.randrange(4 * 365 * 86400))
        else:
            created = SNOWFLAKE_START + timedelta(seconds=rng.randrange(1, 15 * 365 * 86400))
            user_id = snowflake(created, rng)
        yield (
            user_id,
            f"user_{i}_{rng.randrange(10_000)}",
            iso(created),
            rng.choice(CITIES),
            " ".join(rng.choices(WORDS, k=6)),
            rng.randrange(10_000),
        )


def _tweets(
    count: int, author_ids: list[int], start: datetime, days: int, rng: random.Random
) -> Iterator[tuple]:
    span_ms = days * 86_400_000
    for _ in range(count):
        created = start + timedelta(milliseconds=rng.randrange(span_ms))
        has_place = rng.random() < 0.3
        has_point = has_place and rng.random() < 0.5
        yield (
            snowflake(created, rng),
            rng.choice(author_ids),
            iso(created),
            " ".join(rng.choices(WORDS, k=rng.randrange(3, 12))),
            rng.choice(LANGS),
            f"{rng.getrandbits(64):016x}" if has_place else None,
            round(rng.uniform(-60, 70), 6) if has_point else None,
            round(rng.uniform(-180, 180), 6) if has_point else None,
        )


def seed(
    path: Path, *, tweets: int = 100_000, users: int = 5_000, days: int = 90, end: datetime, seed: int = 7
):
    """Create (or replace) the warehouse at ``path``; Posts span the ``days`` before ``end``."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    start = end - timedelta(days=days)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        user_rows = list(_users(users, rng))
        db.executemany("INSERT OR IGNORE INTO users VALUES (?, ?, ?, ?, ?, ?)", user_rows)
        author_ids = [row[0] for row in user_rows]
        db.executemany(
            "INSERT OR IGNORE INTO tweets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _tweets(tweets, author_ids, start, days, rng),
        )
    db.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path, help="SQLite file to create (replaced if it exists)")
    parser.add_argument("--tweets", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=90, help="Posts span this many days before --end")
    parser.add_argument("--end", default=None, help="end of the span, YYYY-MM-DD (default: today, UTC)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    end = (
        datetime.strptime(args.end, "%Y-%m-%d").replace(tzinfo=UTC)
        if args.end
        else datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    seed(args.path, tweets=args.tweets, users=args.users, days=args.days, end=end, seed=args.seed)
    with sqlite3.connect(args.path) as db:
        counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("tweets", "users")}
    print(
        f"Seeded {args.path}: {counts['tweets']:,} tweets over {args.days} days to {end:%Y-%m-%d}, "
        f"{counts['users']:,} users"
    )


if __name__ == "__main__":
    main()
