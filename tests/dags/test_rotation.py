"""A simulated month of daily runs of both DAGs against fates that change on X over time.

The emulator's clock moves a day before each day's runs; Posts and accounts change fate
mid-day on a schedule the test draws; a historical import (2019 ``created_at``) is loaded on
day 10. After every run the warehouse and the run's audit rows must equal a truth computed
here from the test's own schedule (tests/dags/expected.py, which shares no code with the
provider), each run must send one job per type, and every change made on X at least
``recheck_days`` runs earlier must be honoured.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.dags.conftest import load_dag, read_table
from tests.dags.expected import (
    RECHECK_DAYS,
    REMOVE,
    TWEET_GEO,
    USER_GEO,
    after_tweets_run,
    after_users_run,
    checked_on,
)

pytestmark = pytest.mark.usefixtures("airflow_db")

FIRST_DAY = date(2026, 10, 1)
DAYS = 30
DAY = 86400.0
LATE_DAY = 10  # the historical import lands before this day's runs
REASONS = {
    "tweets": ["deleted", "deactivated", "protected", "suspended", "scrub_geo", "bounced"],
    "users": ["deleted", "deactivated", "protected", "suspended", "scrub_geo"],
}


@pytest.fixture
def warehouse(tmp_path):
    """The demo world: Posts spread over the month, so each day has new ones too."""
    from x_compliance_demo.warehouse import seed

    end = datetime.combine(FIRST_DAY + timedelta(days=DAYS), datetime.min.time(), tzinfo=UTC)
    return seed(tmp_path / "warehouse.db", tweets=1500, users=150, days=DAYS, end=end, seed=5)


def _load_late_posts(path, author_ids: list[int], rng: random.Random) -> list[int]:
    """Twenty Posts from 2019, as a re-crawl would load them."""
    from x_compliance_demo.warehouse import iso, snowflake

    rows = []
    for n in range(20):
        moment = datetime(2019, 3, 1, tzinfo=UTC) + timedelta(days=n * 9, seconds=rng.randrange(86400))
        rows.append((snowflake(moment, rng), rng.choice(author_ids), iso(moment), f"archived {n}"))
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO tweets (id, author_id, created_at, text) VALUES (?, ?, ?, ?)", rows)
    return [row[0] for row in rows]


def _honoured(change: tuple, tweets: dict, users: dict) -> bool:
    job_type, record_id, _, reason = change
    table, geo = (tweets, TWEET_GEO) if job_type == "tweets" else (users, USER_GEO)
    if reason in REMOVE:
        return record_id not in table
    return record_id not in table or all(table[record_id][i] is None for i in geo)


def _run_audit(path, run_id: str) -> tuple[set[tuple], set[str]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT record_id, table_name, change, reason, job_id FROM compliance_audit WHERE run_id = ?",
            (run_id,),
        ).fetchall()
    return {row[:4] for row in rows}, {row[4] for row in rows}


def test_a_month_of_daily_runs_keeps_the_warehouse_compliant(dag_env):
    path, emulator = dag_env["warehouse"], dag_env["emulator"].emulator
    rng = random.Random(3)
    tweets, users = read_table(path, "tweets"), read_table(path, "users")
    base = {
        "tweets": {i: emulator.fate("tweets", i) for i in tweets},
        "users": {i: emulator.fate("users", i) for i in users},
    }
    start = emulator.clock.now()
    last_change_day = DAYS - RECHECK_DAYS  # so that every change has a week of runs after it
    # Changes on X, mid-day between two days' runs: (type, id, emulator time, reason).
    changes = [
        ("tweets", i, start + rng.randrange(last_change_day) * DAY + DAY / 2, rng.choice(REASONS["tweets"]))
        for i in rng.sample(sorted(i for i in tweets if base["tweets"][i] is None), 60)
    ] + [
        ("users", i, start + rng.randrange(last_change_day) * DAY + DAY / 2, rng.choice(REASONS["users"]))
        for i in rng.sample(sorted(i for i in users if base["users"][i] is None), 12)
    ]
    for job_type, record_id, at, reason in changes:
        emulator.schedule_fate(job_type, record_id, reason, at)
    scheduled = {(c[0], c[1]): (c[2], c[3]) for c in changes}

    def fate_at(job_type: str, moment: float):
        def fate(record_id: str):
            at, reason = scheduled.get((job_type, int(record_id)), (float("inf"), None))
            return reason if moment >= at else base[job_type].get(int(record_id))

        return fate

    dags = {dag_id: load_dag(dag_id) for dag_id in ("x_compliance_tweets", "x_compliance_users")}
    late: list[int] = []
    for day_number in range(DAYS):
        now = start + day_number * DAY + 60
        emulator.clock.advance(now - emulator.clock.now())
        if day_number == LATE_DAY:  # loaded today; already deleted on X
            late = _load_late_posts(path, sorted(users), rng)
            for record_id in late:
                emulator.schedule_fate("tweets", record_id, "deleted", now - 3600)
                base["tweets"][record_id] = None
                scheduled[("tweets", record_id)] = (now - 3600, "deleted")
        day = FIRST_DAY + timedelta(days=day_number)
        logical = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        for dag_id, job_type in (("x_compliance_tweets", "tweets"), ("x_compliance_users", "users")):
            tweets, users = read_table(path, "tweets"), read_table(path, "users")
            jobs_before = {job["id"] for job in emulator.jobs()}
            run = dags[dag_id].test(logical_date=logical)
            assert run.state == "success", f"{dag_id} for {day} ended {run.state}"
            if job_type == "tweets":
                expected = after_tweets_run(tweets, users, checked_on(tweets, day), fate_at("tweets", now))
            else:
                expected = after_users_run(tweets, users, fate_at("users", now), checked_on(users, day))
            assert read_table(path, "tweets") == expected.tweets, f"tweets after {dag_id} for {day}"
            assert read_table(path, "users") == expected.users, f"users after {dag_id} for {day}"
            new_jobs = {job["id"] for job in emulator.jobs()} - jobs_before
            assert len(new_jobs) == 1, f"{dag_id} for {day} sent {len(new_jobs)} jobs"
            audited, audit_jobs = _run_audit(path, run.run_id)
            assert audited == expected.audit and audit_jobs <= new_jobs  # which run and job removed each row
        tweets, users = read_table(path, "tweets"), read_table(path, "users")
        # The guarantee: a change made before the last RECHECK_DAYS runs started is honoured.
        due = [c for c in changes if c[2] < start + (day_number - RECHECK_DAYS + 1) * DAY]
        assert all(_honoured(c, tweets, users) for c in due), f"day {day}: a change older than a week"
        if day_number == LATE_DAY + RECHECK_DAYS - 1:
            assert not set(late) & set(tweets), "2019 Posts loaded late are checked within recheck_days"
    assert late and len(changes) == 72
    assert sum(_honoured(c, tweets, users) for c in changes) == len(changes)  # all made a week before the end
