"""Small inline SVG charts for the Compliance page: no JavaScript, no CDN, readable at 3 a.m."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

from x_compliance.warehouse.runs import REASONS

COLORS = {
    "deleted": "#d93f3f",
    "deactivated": "#e8833a",
    "protected": "#8e5cd9",
    "suspended": "#b5517d",
    "bounced": "#6b7a8f",
    "scrub_geo": "#2f8fce",
    "other": "#999999",
}
WIDTH, HEIGHT, LEFT, BOTTOM = 760, 220, 48, 36


def _axis(top: float, unit: str) -> str:
    lines = []
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - (HEIGHT - BOTTOM - 12) * i / 4
        label = f"{value:,.0f}" if top >= 8 else f"{value:,.1f}"
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{label}{unit}</text>'
        )
    return "".join(lines)


def _bars(columns: list[tuple[str, list[tuple[str, float]]]], unit: str = "") -> str:
    """Stacked bars: one column per label, each a list of (series, value)."""
    if not columns:
        return '<p class="empty">Nothing applied yet.</p>'
    top = max(sum(v for _, v in stack) for _, stack in columns) or 1
    step = (WIDTH - LEFT) / len(columns)
    width = max(min(step * 0.7, 48), 2)
    scale = (HEIGHT - BOTTOM - 12) / top
    parts = [_axis(top, unit)]
    every = max(1, len(columns) // 12)
    for i, (label, stack) in enumerate(columns):
        x = LEFT + i * step + (step - width) / 2
        y = HEIGHT - BOTTOM
        for series, value in stack:
            if value <= 0:
                continue
            h = value * scale
            y -= h
            tip = f"{label}: {series} {value:,.1f}{unit}" if unit else f"{label}: {series} {value:,.0f}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
                f'fill="{COLORS.get(series, "#4a7bd0")}"><title>{escape(tip)}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'class="tick">{escape(label)}</text>'
            )
    return f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img">{"".join(parts)}</svg>'


def legend(series: list[str]) -> str:
    items = "".join(
        f'<span><i style="background:{COLORS.get(s, "#4a7bd0")}"></i>{escape(s)}</span>' for s in series
    )
    return f'<div class="legend">{items}</div>'


def flagged_over_time(runs: list[dict[str, Any]]) -> str:
    """Records X flagged per reason, per day the results were applied."""
    per_day: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for run in runs:
        day = (run["applied_at"] or "")[:10]
        for reason in REASONS:
            per_day[day][reason] += run[f"flagged_{reason}"] or 0
        per_day[day]["other"] += run["flagged_other"] or 0
    series = [*REASONS, "other"]
    columns = [(day[5:], [(s, per_day[day][s]) for s in series]) for day in sorted(per_day)]
    shown = [s for s in series if any(per_day[d][s] for d in per_day)]
    return _bars(columns) + legend(shown)


def processing_per_job(runs: list[dict[str, Any]], last: int = 40) -> str:
    """How long X took for each of the latest jobs, oldest on the left."""
    columns = [
        (
            f"{run['job_type'] or ''} …{str(run['job_id'])[-4:]}",
            [("X processing", run["x_processing_seconds"])],
        )
        for run in reversed(runs[:last])
        if run["x_processing_seconds"] is not None
    ]
    return _bars(columns, unit=" s")
