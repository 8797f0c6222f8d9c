"""The warehouse as it must be after a compliance run, computed from the emulator's fates alone.

Written out here on purpose, without importing the provider's warehouse code: a test that
reused the code under test to compute its expectation could not catch that code's bugs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

REMOVE = {"deleted", "deactivated", "protected", "suspended", "bounced"}
CASCADE = {"deleted", "deactivated", "protected", "suspended"}
TWEET_GEO = (5, 6, 7)  # place_id, geo_lat, geo_lon in the seeded schema
USER_GEO = (3,)  # location


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
    tweets: dict[int, tuple], users: dict[int, tuple], fate: Callable[[str], str | None]
) -> Expected:
    out = Expected(dict(tweets), dict(users))
    for user_id, row in users.items():
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
                if tweet[1] == user_id:
                    del out.tweets[tweet_id]
                    out.audit.add((tweet_id, "tweets", "cascade_deleted", reason))
    return out
