"""Coverage of the store, from what ``compliance_runs`` knows: which rotation slots, dates and
sweeps some applied job checked within the last ``recheck_days`` days.

The rotation rule (:mod:`x_compliance.warehouse.rotation`) gives every row one of
``recheck_days`` slots, evenly (the prime modulus spreads snowflake IDs), so the slots checked
say what share of the rows was checked without reading a row: the page stays as fast on a
100M-row table as on an empty one. The share is set against how long the rotation has been
going: on its first day one slot of seven is all it can have done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Coverage:
    table: str
    days: int  # the rotation: every row is due once in this many days
    slots: set[int] = field(default_factory=set)  # rotation slots checked in the window
    dates: set[str] = field(default_factory=set)  # dates whose new rows were checked
    sweeps: list[str] = field(default_factory=list)  # ranged sweeps in the window
    everything: bool = False  # a sweep of every row in the window
    ids_sent: int = 0  # IDs sent by the window's checks, each check counted once
    other_rotation: int = 0  # checks made under another recheck_days (their slots differ)
    rotation_day: int = 0  # 1..days since the table's first applied job; 0: never checked

    @property
    def share(self) -> float:
        """The share of rows checked, as the slots say (a sweep of everything: all of them)."""
        return 1.0 if self.everything else len(self.slots) / self.days

    @property
    def on_track(self) -> bool:
        """As many slots as the rotation has had days to check (or everything swept)."""
        return self.rotation_day > 0 and (self.everything or len(self.slots) >= self.rotation_day)


def checked_key(run: dict[str, Any]) -> tuple[str, str]:
    """What a run checked, as one key: its table and date, or its sweep and the day it ran."""
    if run.get("scope_date"):
        return run["table_name"], run["scope_date"]
    span = f"{run.get('created_from') or 'start'}..{run.get('created_to') or 'now'}"
    return run["table_name"], f"sweep {span} {str(run['applied_at'])[:10]}"


def latest_checks(runs: list[dict[str, Any]]) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    """The jobs of the latest run of each check, with its key (``runs`` newest first).

    A re-run of a date sends X the same records again: counting both runs would count them
    twice. A run's own jobs hold disjoint IDs, so they add up.
    """
    latest: dict[tuple[str, str], str] = {}
    for run in runs:
        key = checked_key(run)
        if latest.setdefault(key, run["run_id"]) == run["run_id"]:
            yield key, run


def _day(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def coverage(
    table: str, runs: list[dict[str, Any]], days: int, first_applied: str | None, now: datetime | None = None
) -> Coverage:
    """``runs``: the window's applied jobs, newest first; ``first_applied``: the table's first."""
    now = now or datetime.now(UTC)
    cover = Coverage(table=table, days=days)
    if first_applied:
        cover.rotation_day = min(days, max(1, (now.date() - _day(first_applied).date()).days + 1))
    mine = [run for run in runs if run["table_name"] == table]
    cover.ids_sent = sum(run.get("ids_sent") or 0 for _, run in latest_checks(mine))
    for run in mine:
        if run.get("scope_kind") == "sweep":
            if run.get("created_from") or run.get("created_to"):
                cover.sweeps.append(f"{run.get('created_from') or 'start'}..{run.get('created_to') or 'now'}")
            else:
                cover.everything = True
            continue
        if run.get("scope_date"):
            cover.dates.add(run["scope_date"])
        if run.get("rotation_slot") is None:
            continue
        if run.get("recheck_days") == days:
            cover.slots.add(int(run["rotation_slot"]))
        else:
            cover.other_rotation += 1
    cover.sweeps = sorted(set(cover.sweeps))
    return cover
