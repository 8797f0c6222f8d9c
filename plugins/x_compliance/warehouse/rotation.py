"""The rolling re-verification rule: which stored rows a run sends to X besides the new ones.

Every row has a slot, ``(id % 1000003) % recheck_days``; the daily run that checks UTC date D
checks the rows created on D plus every row in slot ``days_since_epoch(D) % recheck_days``.
So any ``recheck_days`` consecutive dates check every row at least once, whenever it was
created or loaded, and the rule is stateless: a retry, a re-run, a backfill or an
``airflow dags test`` for D export exactly the same IDs. The prime modulus comes first so any
``recheck_days`` (even a power of two, against snowflake IDs' low bits) spreads rows evenly;
``%`` on integers is the same in SQLite, PostgreSQL, MySQL, DuckDB and Snowflake.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

SLOT_MODULUS = 1_000_003
DEFAULT_RECHECK_DAYS = 7
EPOCH = date(1970, 1, 1)


def recheck_days_from_env() -> int:
    """``X_COMPLIANCE_RECHECK_DAYS`` (default 7), refused unless a whole number of days >= 1."""
    raw = os.environ.get("X_COMPLIANCE_RECHECK_DAYS", str(DEFAULT_RECHECK_DAYS))
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"X_COMPLIANCE_RECHECK_DAYS must be a whole number of days >= 1, not {raw!r}")
    return int(raw)


def slot_of_date(day: date, recheck_days: int) -> int:
    """The rotation slot the daily run for ``day`` re-checks."""
    return (day - EPOCH).days % recheck_days


def slot_condition(id_column: str, placeholder: str) -> str:
    """SQL true for the rows of one slot; parameters: (recheck_days, slot).

    Drivers with ``%s`` placeholders (psycopg, MySQLdb) read a bare ``%`` as the start of one,
    so there the modulo operator is written ``%%``.
    """
    mod = "%%" if "%" in placeholder else "%"
    return f"({id_column} {mod} {SLOT_MODULUS}) {mod} {placeholder} = {placeholder}"


def day_start(day: date) -> str:
    """Midnight UTC starting ``day``, in the warehouse's timestamp format."""
    return f"{day.isoformat()}T00:00:00.000Z"


def day_end(day: date) -> str:
    """Midnight UTC ending ``day`` (the first instant not in it)."""
    return day_start(day + timedelta(days=1))
