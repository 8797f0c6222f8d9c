"""What one run checks, decided once from its params and logical date, as a plain dict.

A daily run checks one UTC date D: the rows created on D and D's rotation slot
(:mod:`x_compliance.warehouse.rotation`). D is, in this order: the ``date`` param; the run's
logical date (so the scheduled run, a backfill, ``airflow dags trigger -l D`` and
``airflow dags test DAG D`` all check D); without either, the day before the run was
triggered (the last complete day). A sweep checks a ``created_at`` range, or every row.
The dict (shape shared with the apply step and the UI) also names the run's storage folder.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from x_compliance.warehouse.rotation import slot_of_date

DAILY, SWEEP = "daily", "sweep"


class ScopeError(ValueError):
    """The params of a run do not say something that can be checked."""


def _day(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ScopeError(f"param {name}={value!r} is not a date (YYYY-MM-DD)") from None


def resolve_scope(
    params: dict[str, Any], *, logical_date: datetime | None, run_after: datetime | None, recheck_days: int
) -> tuple[dict[str, Any], str]:
    """``(scope, how it was chosen)`` for a run with these params and dates."""
    mode = params.get("mode") or DAILY
    if mode == SWEEP:
        first, last = (
            _day(params.get("created_from"), "created_from"),
            _day(params.get("created_to"), "created_to"),
        )
        if first and last and first > last:
            raise ScopeError(f"created_from {first} is after created_to {last}")
        if first or last:
            checked = f"rows created {first or 'ever'}..{last or 'now'} (sweep)"
        else:
            checked = "every row (sweep)"
        scope = {
            "kind": SWEEP,
            "checked": checked,
            "date": None,
            "rotation_slot": None,
            "recheck_days": None,
            "created_from": first.isoformat() if first else None,
            "created_to": last.isoformat() if last else None,
        }
        return scope, "params mode=sweep"
    if mode != DAILY:
        raise ScopeError(f"param mode must be {DAILY!r} or {SWEEP!r}, not {mode!r}")
    day, how = _day(params.get("date"), "date"), "the date param"
    if day is None and logical_date is not None:
        day, how = logical_date.date(), "the run's logical date"
    if day is None:
        if run_after is None:
            raise ScopeError(
                "a run with no logical date, no run_after and no date param has nothing to check"
            )
        day, how = (
            run_after.date() - timedelta(days=1),
            "no logical date: the day before the run was triggered",
        )
    slot = slot_of_date(day, recheck_days)
    scope = {
        "kind": DAILY,
        "checked": f"rows created on {day} and rotation slot {slot} of {recheck_days}",
        "date": day.isoformat(),
        "rotation_slot": slot,
        "recheck_days": recheck_days,
        "created_from": None,
        "created_to": None,
    }
    return scope, how


def folder_name(scope: dict[str, Any]) -> str:
    """The storage folder named after what is checked: ``2026-11-19``, ``sweep-A..B``, ``sweep-all``."""
    if scope["kind"] == DAILY:
        return scope["date"]
    if scope["created_from"] or scope["created_to"]:
        return f"sweep-{scope['created_from'] or 'start'}..{scope['created_to'] or 'now'}"
    return "sweep-all"
