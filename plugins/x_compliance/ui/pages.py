"""The Compliance page's HTML, rendered on the server with every value escaped.

Three views share one layout: the overview (coverage, charts, latest jobs, audited changes),
a run's jobs (the tab on each DAG run) and one job's entry (where the extra links point).
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from x_compliance.hooks.progress import duration
from x_compliance.operators.links import PAGE_PREFIX, job_page
from x_compliance.ui import charts
from x_compliance.ui.coverage import Coverage
from x_compliance.warehouse.runs import REASONS, describe_run

STYLE = (Path(__file__).parent / "style.css").read_text()


def e(value: Any) -> str:
    return escape("" if value is None else str(value))


def when(value: Any) -> str:
    """An ISO timestamp as ``2026-12-02 06:39:18``, UTC (the page's one time zone)."""
    if not value:
        return "unknown"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def layout(title: str, subtitle: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
        f"<style>{STYLE}</style></head><body><main><h1>{e(title)}</h1>"
        f'<p class="sub">{subtitle}</p>{body}</main></body></html>'
    )


def _dag_run_link(row: dict, *, inline: bool = False) -> str:
    """A link to the run in Airflow's UI (out of the iframe the page is shown in)."""
    url = f"/dags/{quote(str(row['dag_id']), safe='')}/runs/{quote(str(row['run_id']), safe='')}"
    run = f" / {e(row['run_id'])}" if inline else f"<small>{e(row['run_id'])}</small>"
    return f'<a class="run" href="{e(url)}" target="_top">{e(row["dag_id"])}{run}</a>'


def _audit_table(rows: list[dict]) -> str:
    if not rows:
        return '<p class="empty">No audited changes match.</p>'
    head = "".join(
        f"<th>{h}</th>" for h in ("Changed at", "Table", "Record", "Change", "Reason", "Job", "Run")
    )
    body = "".join(
        f"<tr><td class=t>{e(when(r['changed_at']))}</td><td>{e(r['table_name'])}</td>"
        f"<td>{e(r['record_id'])}</td>"
        f"<td>{e(r['change'])}</td><td>{e(r['reason'])}</td>"
        f'<td><a href="{e(job_page(r["job_id"]))}">{e(r["job_id"])}</a></td><td>{e(r["run_id"])}</td></tr>'
        for r in rows
    )
    return f'<div class="scroll"><table id="audit"><tr>{head}</tr>{body}</table></div>'


def job_card(row: dict, audited: dict[tuple[str, str], int]) -> str:
    """One job: what was checked, its timings, X's verdicts and what the audit says changed."""
    timings = [
        ("Job created on X", when(row["job_created_at"])),
        ("IDs uploaded", when(row["uploaded_at"])),
        ("Seen complete", when(row["completed_at"])),
        ("Applied", when(row["applied_at"])),
        ("X processing time", duration(row["x_processing_seconds"])),
        ("Status calls made", row["status_calls"]),
        ("IDs sent", f"{row['ids_sent']:,}" if row["ids_sent"] is not None else "unknown"),
        ("Results (flagged)", f"{row['results']:,}"),
    ]
    timing_rows = "".join(f"<tr><th class=t>{e(k)}</th><td class=t>{e(v)}</td></tr>" for k, v in timings)
    reasons = [r for r in REASONS if row[f"flagged_{r}"]] + (["other"] if row["flagged_other"] else [])
    changes = sorted({change for change, _ in audited})
    head = "<th>Reason</th><th class='n'>Flagged by X</th>" + "".join(
        f"<th class='n'>Rows {e(c.replace('_', ' '))}</th>" for c in changes
    )
    lines = []
    for reason in reasons:
        flagged = row[f"flagged_{reason}"] if reason != "other" else row["flagged_other"]
        cells = "".join(
            f'<td class="n" data-change="{e(c)}" data-reason="{e(reason)}">{n:,}</td>'
            for c, n in ((c, audited.get((c, reason), 0)) for c in changes)
        )
        lines.append(
            f'<tr><td>{e(reason)}</td><td class="n" data-flagged="{e(reason)}">{flagged:,}</td>{cells}</tr>'
        )
    verdicts = (
        f"<table><tr>{head}</tr>{''.join(lines)}</table>"
        if lines
        else '<p class="empty">X flagged nothing.</p>'
    )
    return (
        f'<div class="card job" id="job-{e(row["job_id"])}" data-job="{e(row["job_id"])}">'
        f'<h3>{e(row["job_type"] or row["table_name"])} job <a href="{e(job_page(row["job_id"]))}">'
        f"{e(row['job_id'])}</a> · {e(row['scope_label'])} "
        f'<span class="muted">({e(row["scope_kind"])})</span></h3>'
        f'<p class="muted">Run {_dag_run_link(row, inline=True)} · table {e(row["table_name"])}</p>'
        f'<p class="line">{e(describe_run(row))}</p>'
        f'<div class="jobgrid"><table>{timing_rows}</table><div>{verdicts}</div></div></div>'
    )


def coverage_cards(items: list[Coverage]) -> str:
    cards = []
    for c in items:
        tone = "ok" if c.share >= 0.999 else "warn"
        oldest = (
            f"Oldest unchecked row: id {e(c.oldest_unchecked_id)}, "
            f"created {e(when(c.oldest_unchecked_created_at))}"
            if c.oldest_unchecked_id is not None
            else "Every row was checked."
        )
        cards.append(
            f'<div class="card" data-coverage="{e(c.table)}"><h3>{e(c.table)}</h3>'
            f'<div class="big {tone}">{100 * c.share:.1f}%</div>'
            f"<p>{c.checked:,} of {c.rows:,} rows checked with X in the last {c.days} days.</p>"
            f'<p class="muted">{oldest}</p></div>'
        )
    return f'<div class="grid">{"".join(cards)}</div>'


def _runs_table(runs: list[dict], limit: int = 20) -> str:
    if not runs:
        return '<p class="empty">No job applied yet: the table fills as the DAGs run.</p>'
    head = "".join(
        f"<th{' class=n' if n else ''}>{h}</th>"
        for h, n in (("Applied", 0), ("Job", 0), ("Checked", 0), ("Run", 0), ("IDs sent", 1), ("Flagged", 1),
                     ("Deleted", 1), ("Scrubbed", 1), ("Cascaded", 1), ("X took", 1))
    )  # fmt: skip
    body = "".join(
        f"<tr><td class=t>{e(when(r['applied_at']))}</td>"
        f"<td><a href='{e(job_page(r['job_id']))}'>{e(r['job_id'])}</a> "
        f"{e(r['job_type'])}</td><td>{e(r['scope_label'])}</td><td>{_dag_run_link(r)}</td>"
        f"<td class=n>{e(r['ids_sent'])}</td><td class=n>{r['results']:,}</td>"
        f"<td class=n>{r['rows_deleted']:,}</td>"
        f"<td class=n>{r['rows_geo_scrubbed']:,}</td><td class=n>{r['rows_cascade_deleted']:,}</td>"
        f"<td class=n>{e(duration(r['x_processing_seconds']))}</td></tr>"
        for r in runs[:limit]
    )
    return f"<div class='scroll'><table id='runs'><tr>{head}</tr>{body}</table></div>"


def audit_section(rows: list[dict], more: bool, *, reason: str, table: str, page: int, path: str) -> str:
    def option(value: str, chosen: str) -> str:
        return (
            f'<option value="{e(value)}"{" selected" if value == chosen else ""}>{e(value or "all")}</option>'
        )

    reasons = "".join(option(r, reason) for r in ("", *REASONS))
    tables = "".join(option(t, table) for t in ("", "tweets", "users"))
    form = (
        f'<form method="get" action="{e(path)}">Reason <select name="reason">{reasons}</select> '
        f'Table <select name="table">{tables}</select> <button>Filter</button></form>'
    )
    links = []
    for label, target, show in (("← newer", page - 1, page > 0), ("older →", page + 1, more)):
        if show:
            query = urlencode({"reason": reason, "table": table, "page": target})
            links.append(f'<a href="{e(path)}?{e(query)}">{label}</a>')
    pager = f'<div class="pager">Page {page + 1} {" · ".join(links)}</div>'
    return form + _audit_table(rows) + pager


def overview(wh: Any, runs: list[dict], cover: list[Coverage], audit: str) -> str:
    body = (
        "<h2>Coverage of the store</h2>" + coverage_cards(cover)
        + '<div class="grid"><div><h2>Flagged records per reason, per day applied</h2>'
        + charts.flagged_over_time(runs) + "</div><div><h2>X processing time per job</h2>"
        + charts.processing_per_job(runs) + "</div></div>"
        + "<h2>Latest jobs</h2>" + _runs_table(runs)
        + "<h2>Latest audited changes</h2>" + audit
    )  # fmt: skip
    return layout("X compliance", f"Warehouse connection <b>{e(wh.described)}</b> · times in UTC", body)


def run_view(wh: Any, dag_id: str, run_id: str, cards: list[str]) -> str:
    body = "".join(cards) or (
        '<p class="empty">No compliance job was applied in this run (yet): it appears here when its '
        "apply task succeeds.</p>"
    )
    sub = (
        f'Run {e(dag_id)} / {e(run_id)} · warehouse {e(wh.described)} · <a href="{PAGE_PREFIX}/">all runs</a>'
    )
    return layout("X compliance: this run", sub, body)


def job_view(wh: Any, job_id: str, card: str | None, audit: str) -> str:
    body = (card or f'<p class="empty">Job {e(job_id)} has not been applied to the warehouse yet.</p>') + (
        "<h2>Changes audited for this job</h2>" + audit
    )
    sub = f'Warehouse {e(wh.described)} · <a href="{PAGE_PREFIX}/">all runs</a>'
    return layout(f"X compliance job {job_id}", sub, body)
