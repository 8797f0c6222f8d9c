"""The warehouse as it must be after a compliance run, computed from the emulator's fates alone.

Written out here on purpose, without importing the provider's warehouse code: a test that
reused the code under test to compute its expectation could not catch that code's bugs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

REMOVE = {"deleted", "deactivated", "protected", "suspended", "bounced"}
CASCADE = {"deleted", "deactivated", "protected", "suspended"}
TWEET_GEO = (5, 6, 7)  # place_id, geo_lat, geo_lon in the seeded schema
USER_GEO = (3,)  # location
CREATED_AT = 2  # in both tables
RECHECK_DAYS = 7


def checked_on(rows: dict[int, tuple], day: date, recheck_days: int = RECHECK_DAYS) -> set[int]:
    """The rows the daily run for ``day`` must send X, by the rule the README states: created on
    ``day``, or in its rotation slot ``(id % 1000003) % recheck_days``."""
    slot = (day - date(1970, 1, 1)).days % recheck_days
    prefix = day.isoformat()
    return {
        i
        for i, row in rows.items()
        if isinstance(i, int)
        and (str(row[CREATED_AT]).startswith(prefix) or (i % 1_000_003) % recheck_days == slot)
    }


def created_between(rows: dict[int, tuple], first: date, last: date) -> set[int]:
    """The rows a sweep of ``[first, last]`` (whole UTC days) must send X."""
    return {
        i for i, row in rows.items() if first.isoformat() <= str(row[CREATED_AT])[:10] <= last.isoformat()
    }


@dataclass
class Expected:
    tweets: dict[int, tuple]
    users: dict[int, tuple]
    audit: set[tuple] = field(default_factory=set)  # (record_id, table, change, reason)


def _scrub(row: tuple, columns: Iterable[int]) -> tuple:
    cleared = list(row)
    for i in columns:
        cleared[i] = None
    return tuple(cleared)


def after_tweets_run(
    tweets: dict[int, tuple], users: dict[int, tuple], partition: set[int], fate: Callable[[str], str | None]
) -> Expected:
    out = Expected(dict(tweets), dict(users))
    for tweet_id in partition:
        reason = fate(str(tweet_id))
        row = tweets.get(tweet_id)
        if reason is None or row is None:  # compliant, or removed by an earlier run
            continue
        if reason == "scrub_geo":
            if any(row[i] is not None for i in TWEET_GEO):
                out.tweets[tweet_id] = _scrub(row, TWEET_GEO)
                out.audit.add((tweet_id, "tweets", "geo_scrubbed", reason))
        else:  # every other reason, known or not, removes the Post
            del out.tweets[tweet_id]
            out.audit.add((tweet_id, "tweets", "deleted", reason))
    return out


def after_users_run(
    tweets: dict[int, tuple],
    users: dict[int, tuple],
    fate: Callable[[str], str | None],
    checked: set[int] | None = None,
) -> Expected:
    """After a users run that checked ``checked`` (default: every user)."""
    out = Expected(dict(tweets), dict(users))
    for user_id, row in users.items():
        if checked is not None and user_id not in checked:
            continue
        reason = fate(str(user_id))
        if reason is None:
            continue
        if reason == "scrub_geo":
            if row[3] is not None:
                out.users[user_id] = _scrub(row, USER_GEO)
                out.audit.add((user_id, "users", "geo_scrubbed", reason))
            continue
        del out.users[user_id]
        out.audit.add((user_id, "users", "deleted", reason))
        if reason in CASCADE:
            for tweet_id, tweet in tweets.items():
                if tweet[1] == user_id and tweet_id in out.tweets:
                    del out.tweets[tweet_id]
                    out.audit.add((tweet_id, "tweets", "cascade_deleted", reason))
    return out
