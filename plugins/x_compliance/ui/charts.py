"""Small inline SVG charts for the Compliance page: no JavaScript, no CDN, readable at 3 a.m.

Colours come from the stylesheet (a class per series), so the charts follow the page's colour
mode; every bar carries its figure in ``data-*`` attributes and a tooltip.
"""

from __future__ import annotations

from html import escape
from typing import Any

from x_compliance.ui.coverage import checked_key
from x_compliance.warehouse.runs import REASONS

SERIES = (*REASONS, "other")
WIDTH, HEIGHT, LEFT, BOTTOM = 600, 220, 44, 30


def _axis(top: float, unit: str) -> str:
    lines = []
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - (HEIGHT - BOTTOM - 12) * i / 4
        label = f"{value:,.0f}" if top >= 8 else f"{value:,.1f}"
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{label}{unit}</text>'
        )
    return "".join(lines)


Column = tuple[str, str, list[tuple[str, float]], dict[str, str]]  # label, tooltip head, stack, data


def _bars(columns: list[Column], unit: str = "", empty: str = "Nothing applied yet.") -> str:
    """Stacked bars: one column per label, each a list of (series, value)."""
    if not columns:
        return f'<p class="empty">{escape(empty)}</p>'
    top = max(sum(v for _, v in stack) for _, _, stack, _ in columns) or 1
    step = (WIDTH - LEFT) / len(columns)
    width = max(min(step * 0.7, 48), 2)
    scale = (HEIGHT - BOTTOM - 12) / top
    parts = [_axis(top, unit)]
    every = max(1, len(columns) // 12)
    for i, (label, head, stack, data) in enumerate(columns):
        x = LEFT + i * step + (step - width) / 2
        y = HEIGHT - BOTTOM
        attrs = "".join(f' data-{k}="{escape(v)}"' for k, v in data.items())
        for series, value in stack:
            if value <= 0:
                continue
            h = value * scale
            y -= h
            figure = f"{value:,.1f}{unit}" if unit else f"{value:,.0f}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
                f'class="s-{escape(series)}"{attrs} data-series="{escape(series)}" data-value="{value:g}">'
                f"<title>{escape(f'{head}: {series} {figure}')}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'class="tick">{escape(label)}</text>'
            )
    return f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img">{"".join(parts)}</svg>'


def legend(series: list[str]) -> str:
    items = "".join(f'<span><i class="s-{escape(s)}"></i>{escape(s)}</span>' for s in series)
    return f'<div class="legend">{items}</div>'


def flagged_per_date(runs: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, int]]]:
    """(table, date checked, distinct records X flagged per reason), by date checked.

    A run's jobs hold disjoint IDs and a job's results each ID once, so a run's jobs add up.
    Runs of one date do not: a re-run sends X the same records and gets the same verdicts, so
    per reason the figure is the most any one run of the date flagged, never more than the
    distinct records flagged for it.
    """
    per_run: dict[tuple[tuple[str, str], str], dict[str, int]] = {}
    for run in runs:
        totals = per_run.setdefault((checked_key(run), run["run_id"]), dict.fromkeys(SERIES, 0))
        for reason in REASONS:
            totals[reason] += run[f"flagged_{reason}"] or 0
        totals["other"] += run["flagged_other"] or 0
    flagged: dict[tuple[str, str], dict[str, int]] = {}
    for (key, _), totals in per_run.items():
        most = flagged.setdefault(key, dict.fromkeys(SERIES, 0))
        for series, n in totals.items():
            most[series] = max(most[series], n)
    return [(table, checked, flagged[(table, checked)]) for table, checked in sorted(flagged, key=_by_date)]


def _by_date(key: tuple[str, str]) -> tuple[str, str]:
    table, checked = key
    return checked.removeprefix("sweep ").split(" ")[-1], table


def flagged_chart(runs: list[dict[str, Any]]) -> str:
    per_date = flagged_per_date(runs)
    several = len({table for table, _, _ in per_date}) > 1
    columns: list[Column] = []
    for table, checked, totals in per_date:
        day = checked if not checked.startswith("sweep") else checked.split(" ")[-1]
        label = ("sweep " if checked.startswith("sweep") else "") + day[5:] + (f" {table}" if several else "")
        data = {"table": table, "checked": checked}
        columns.append((label, f"{table} {checked}", [(s, totals[s]) for s in SERIES], data))
    shown = [s for s in SERIES if any(totals[s] for _, _, totals in per_date)]
    return _bars(columns) + legend(shown)


def processing_per_job(runs: list[dict[str, Any]], last: int = 40) -> str:
    """How long X took for each of the latest jobs, oldest on the left."""
    columns: list[Column] = [
        (
            f"…{str(run['job_id'])[-4:]}",
            f"{run['job_type'] or run['table_name']} job {run['job_id']}",
            [("processing", run["x_processing_seconds"])],
            {"job": str(run["job_id"])},
        )
        for run in reversed(runs[:last])
        if run["x_processing_seconds"] is not None
    ]
    return _bars(columns, unit=" s")
