"""Coverage of the store: which rows of a table some applied job checked within the last
``recheck_days`` days, computed from ``compliance_runs`` and the rotation rule.

The rotation rule itself lives in :mod:`x_compliance.warehouse.rotation`; this module only
turns the checks recorded in ``compliance_runs`` into one SQL condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from x_compliance.warehouse.rotation import slot_condition
from x_compliance.warehouse.tables import ComplianceTable


@dataclass
class Coverage:
    table: str
    rows: int
    checked: int
    oldest_unchecked_id: int | None
    oldest_unchecked_created_at: str | None
    days: int

    @property
    def share(self) -> float:
        return self.checked / self.rows if self.rows else 1.0


def checked_predicate(table: ComplianceTable, runs: list[dict[str, Any]], ph: str) -> tuple[str, list]:
    """A SQL condition true for the rows the given runs checked, and its parameters."""
    created = table.created_at_column
    terms: list[str] = []
    params: list[Any] = []
    for run in runs:
        if run["scope_kind"] == "sweep":
            if not run.get("created_from") and not run.get("created_to"):
                return "1 = 1", []  # a sweep of everything covers every row
            terms.append(f"({created} >= {ph} AND {created} < {ph})")
            end = date.fromisoformat(run.get("created_to") or "9999-12-30") + timedelta(days=1)
            params += [run.get("created_from") or "0000", end.isoformat()]
            continue
        if run.get("scope_date"):
            terms.append(f"({created} >= {ph} AND {created} < {ph})")
            day = date.fromisoformat(run["scope_date"])
            params += [day.isoformat(), (day + timedelta(days=1)).isoformat()]
        if run.get("rotation_slot") is not None and run.get("recheck_days"):
            terms.append(slot_condition(table.id_column, ph))
            params += [int(run["recheck_days"]), int(run["rotation_slot"])]
    return ("(" + " OR ".join(terms) + ")" if terms else "1 = 0"), params


def coverage(hook: Any, table: ComplianceTable, runs: list[dict[str, Any]], days: int) -> Coverage:
    """Two aggregate queries over the table (one scan each); ``runs`` are the window's runs."""
    ph = hook.placeholder
    mine = [r for r in runs if r["table_name"] == table.name]
    predicate, params = checked_predicate(table, mine, ph)
    total, checked = hook.get_first(
        f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {predicate} THEN 1 ELSE 0 END), 0) FROM {table.name}",
        parameters=params,
    )
    oldest = hook.get_first(
        f"SELECT {table.id_column}, {table.created_at_column} FROM {table.name} WHERE NOT {predicate} "
        f"ORDER BY {table.created_at_column} LIMIT 1",
        parameters=params,
    )
    return Coverage(
        table=table.name,
        rows=int(total or 0),
        checked=int(checked or 0),
        oldest_unchecked_id=oldest[0] if oldest else None,
        oldest_unchecked_created_at=oldest[1] if oldest else None,
        days=days,
    )
