"""Turn the measurements into the printed table and the JSON file.

The targets (each stage within 1.5x the limit at 10M IDs, the cycle (the stages' sum, with
the upload the DAG makes) within 1.3x the limits' sum; peak RSS at most 300 MB and flat in
N) are shown beside the figures, never asserted: a benchmark reports, the reader judges.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_RATIO = 1.5
MAX_CYCLE_RATIO = 1.3
MAX_RSS_MB = 300.0
CYCLE = "cycle (sum)"


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _fmt(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def rows(stages: dict[str, dict], cycles: dict[str, tuple[str, ...]] | None = None) -> list[dict]:
    """One flat row per stage: ours, limit, naive, and the ratios between them; then a cycle
    row for each of ``cycles`` (its name and stages), by default one over every stage."""
    out = []
    for name, stage in stages.items():
        ours, limit, naive = stage["ours"], stage.get("limit") or {}, stage.get("naive") or {}
        seconds = ours["seconds"]
        out.append(
            {
                "stage": name,
                "ours_s": seconds,
                "ids_per_s": round(stage["ids"] / seconds) if seconds else None,
                "mb_per_s": round(stage["bytes"] / 1e6 / seconds, 1) if seconds else None,
                "ours_peak_rss_mb": ours["peak_rss_mb"],
                "ours_import_rss_mb": ours["import_rss_mb"],
                "limit_s": limit.get("seconds"),
                "naive_s": naive.get("seconds"),
                "naive_peak_rss_mb": naive.get("peak_rss_mb"),
                "ours_over_limit": _ratio(seconds, limit.get("seconds")),
                "naive_over_ours": _ratio(naive.get("seconds"), seconds),
                "emulator_cpu_s": ours.get("emulator_cpu_s"),
                "target_ratio": MAX_RATIO,
            }
        )
    if cycles is None:
        return [*out, _cycle(out)]
    return [*out, *(_cycle([r for r in out if r["stage"] in names], name) for name, names in cycles.items())]


def _cycle(stage_rows: list[dict], name: str = CYCLE) -> dict:
    """The stages one run of the tweets DAG goes through, end to end. Its upload is resumable
    (what a warehouse run asks for, and the operators' default from 8 MB), so that one counts
    when it was measured, else the plain PUT; both have the same limit."""
    uploads = [r["stage"] for r in stage_rows if r["stage"].startswith("upload")]
    counted = [r for r in stage_rows if r["stage"] not in uploads or r["stage"] == max(uploads, key=len)]
    ours = sum(r["ours_s"] for r in counted)
    limits = [r["limit_s"] for r in counted]
    limit = sum(limits) if None not in limits else None
    return {
        "stage": name,
        "ours_s": round(ours, 4),
        "ids_per_s": None,
        "mb_per_s": None,
        "ours_peak_rss_mb": max(r["ours_peak_rss_mb"] for r in counted),
        "ours_import_rss_mb": max(r["ours_import_rss_mb"] for r in counted),
        "limit_s": None if limit is None else round(limit, 4),
        "naive_s": None,
        "naive_peak_rss_mb": None,
        "ours_over_limit": _ratio(ours, limit),
        "naive_over_ours": None,
        "emulator_cpu_s": None,
        "target_ratio": MAX_CYCLE_RATIO,
    }


def flags(row: dict) -> str:
    marks = []
    target = row.get("target_ratio", MAX_RATIO)
    if row["ours_over_limit"] and row["ours_over_limit"] > target:
        marks.append(f">{target}x")
    if row["ours_peak_rss_mb"] > MAX_RSS_MB:
        marks.append(f">{MAX_RSS_MB:.0f}MB")
    return " ".join(marks) or "ok"


def table(n: int, table_rows: list[dict]) -> str:
    head = (
        f"{'stage':<20} | {'ours s':>7} {'IDs/s':>11} {'MB/s':>7} {'RSS MB':>7} {'(base)':>7} | "
        f"{'limit s':>7} | {'naive s':>7} {'RSS MB':>7} | {'ours/lim':>8} | {'naive/ours':>10} | "
        f"{'emu CPU s':>9} | targets"
    )
    lines = [f"N = {n:,} IDs", head, "-" * len(head)]
    for r in table_rows:
        lines.append(
            f"{r['stage']:<20} | {r['ours_s']:>7.2f} {_fmt(r['ids_per_s'], ',d'):>11} "
            f"{_fmt(r['mb_per_s'], '.1f'):>7} {r['ours_peak_rss_mb']:>7.0f} "
            f"{r['ours_import_rss_mb']:>7.0f} | "
            f"{_fmt(r['limit_s'], '.2f'):>7} | "
            f"{_fmt(r['naive_s'], '.2f'):>7} {_fmt(r['naive_peak_rss_mb'], '.0f'):>7} | "
            f"{_fmt(r['ours_over_limit'], '.2f'):>8} | {_fmt(r['naive_over_ours'], '.2f'):>10} | "
            f"{_fmt(r['emulator_cpu_s'], '.2f'):>9} | {flags(r)}"
        )
    lines.append(
        f"targets: ours/limit <= {MAX_RATIO} a stage, <= {MAX_CYCLE_RATIO} the cycle, at 10M; "
        f"peak RSS <= {MAX_RSS_MB:.0f} MB and flat in N. "
        "(base): peak RSS once the stage's imports are loaded, before it works.\n"
        "IDs/s and MB/s: the N IDs for export/upload, the result lines and raw results bytes after."
    )
    return "\n".join(lines)


def limit_commands(stages: dict[str, dict]) -> str:
    """What each limit ran, so a reader can run it by hand (signed URLs and tokens left out)."""
    lines = ["limits, as run:"]
    for name, stage in stages.items():
        limit = stage.get("limit") or {}
        if limit:
            lines.append(f"  {name:<20} {limit.get('command') or limit.get('tool', '?')}")
    return "\n".join(lines)


def dag_line(dag: dict) -> str:
    return (
        f"tweets DAG (airflow dags test): {dag['dag_seconds']:.1f} s; limits {dag['limits_sum_s']:.1f} s "
        f"+ a no-op DAG of its shape {dag['noop_dag_seconds']:.1f} s = {dag['floor_s']:.1f} s; "
        f"ratio {dag['dag_over_floor']:.2f} (target <= 1.3); peak RSS {dag['dag_peak_rss_mb']:.0f} MB, "
        f"the no-op's {dag['noop_dag_peak_rss_mb']:.0f} MB: +{dag['rss_over_noop_mb']:.0f} MB "
        f"(target <= +{MAX_RSS_MB:.0f})"
    )


def wait_table(wait: dict) -> str:
    return "\n".join(
        [
            "Deferred wait (XComplianceJobTrigger, basic tier)",
            f"  waited {wait['seconds']:.1f} s until {wait['job_status']}; "
            f"trigger CPU {wait['trigger_cpu_seconds']:.3f} s "
            f"= {wait['cpu_seconds_per_hour_waited']:.1f} CPU s per hour waited",
            f"  status calls {wait['status_calls']} (limit {wait['tier_limit']} per {wait['window_s']:.0f} s "
            f"window, {wait['windows_spanned']} window(s) spanned = {wait['allowed_calls']} allowed); "
            f"429s seen {wait['rate_limited']}",
            "  worker slots held while deferred: 0 (the task is deferred; the trigger runs in the triggerer)",
        ]
    )


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
