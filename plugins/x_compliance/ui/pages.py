"""The Compliance page's HTML, rendered on the server with every value escaped.

Three views share one layout: the overview (coverage, charts, latest jobs, audited changes),
a run's jobs (the tab on each DAG run) and one job's entry (where the extra links point). Every
figure says what it counts; links to Airflow's pages and to a job open inside Airflow's UI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from x_compliance.hooks.progress import duration
from x_compliance.operators.links import PAGE_PREFIX, SHELL_ROUTE, in_shell
from x_compliance.ui import charts
from x_compliance.ui.audit import PAGE_SIZE, AuditPage
from x_compliance.ui.coverage import Coverage
from x_compliance.warehouse.runs import REASONS, Apply, describe_run
from x_compliance.warehouse.tables import SCRUB_REASONS, TWEETS, USERS

STYLE = (Path(__file__).parent / "style.css").read_text()
SCRIPT = (Path(__file__).parent / "page.js").read_text()
CHANGES = {"deleted": "Deleted from {table}", "geo_scrubbed": "Geo cleared in {table}",
           "cascade_deleted": "{table} deleted with their account"}  # fmt: skip
LATEST_JOBS = 20  # rows of the Latest jobs table


def e(value: Any) -> str:
    return escape("" if value is None else str(value))


def num(value: Any) -> str:
    """A count with thousands separators; ``unknown`` when there is none."""
    return "unknown" if value is None else f"{int(value):,}"


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
        f'<!doctype html><html lang="en" data-shell="{e(SHELL_ROUTE)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(title)}</title>'
        f"<script>{SCRIPT}</script><style>{STYLE}</style></head><body><main><h1>{e(title)}</h1>"
        f'<p class="sub">{subtitle}</p>{body}</main></body></html>'
    )


def job_link(job_id: Any) -> str:
    """The job's entry, inside Airflow's UI (from a run's tab too)."""
    url = in_shell(f"{PAGE_PREFIX}/jobs/{quote(str(job_id), safe='')}")
    return f'<a class="id" data-airflow href="{e(url)}">{e(job_id)}</a>'


def overview_link() -> str:
    return f'<a data-airflow href="{e(in_shell(f"{PAGE_PREFIX}/"))}">all jobs</a>'


def _dag_run_link(row: dict, *, inline: bool = False) -> str:
    """A link to the run in Airflow's UI."""
    url = f"/dags/{quote(str(row['dag_id']), safe='')}/runs/{quote(str(row['run_id']), safe='')}"
    run = (
        f" / <span class=id>{e(row['run_id'])}</span>"
        if inline
        else f"<small class=below>{e(row['run_id'])}</small>"
    )
    return f'<a class="run" data-airflow href="{e(url)}">{e(row["dag_id"])}{run}</a>'


def short_scope(row: dict) -> str:
    """What a job checked, in a few words: ``2026-11-20 + slot 1 of 7``, ``sweep of every row``."""
    if row.get("scope_kind") == "sweep":
        if row.get("created_from") or row.get("created_to"):
            return f"sweep {row.get('created_from') or 'start'}..{row.get('created_to') or 'now'}"
        return "sweep of every row"
    day = row.get("scope_date") or row.get("scope_label") or ""
    if row.get("rotation_slot") is not None:
        return f"{day} + slot {row['rotation_slot']} of {row['recheck_days']}"
    return str(day)


def why_unchanged(reason: str, table: str, n: int, earlier: dict | None) -> str:
    """Why X flagged records the apply did not change: they were already as X asked."""
    if reason in SCRUB_REASONS:
        text = f"{n:,} had no geo left to clear: cleared by an earlier job, or never geotagged"
    else:
        text = f"{n:,} {'was' if n == 1 else 'were'} already gone from {e(table)}: deleted by an earlier job"
        if table == TWEETS.name:
            text += " or with their account"
    if earlier:
        text += f" (job {job_link(earlier['job_id'])} checked {e(earlier['scope_date'])} before this one)"
    return text


def _changes_of(table: str) -> set[tuple[str, str]]:
    """The (table, change) pairs a job of ``table`` can make, so a job that changed nothing
    still shows them, at 0."""
    managed = {t.name: t for t in (TWEETS, USERS)}.get(table)
    if managed is None:
        return set()
    own = {(table, "deleted")} | ({(table, "geo_scrubbed")} if managed.geo_columns else set())
    return own | {(c.table, "cascade_deleted") for c in managed.cascades}


def _verdicts(row: dict, audited: dict[tuple[str, str, str], int], earlier: dict | None) -> str:
    """Per reason: what X flagged, what the audit says changed, and why the rest did not."""
    table = row["table_name"]
    reasons = [r for r in REASONS if row[f"flagged_{r}"]] + (["other"] if row["flagged_other"] else [])
    kinds = sorted(_changes_of(table) | {(t, c) for t, c, _ in audited}, key=lambda k: (k[0] != table, k[1]))
    head = "<th>Reason</th><th class=n>Flagged by X</th>" + "".join(
        f"<th class=n>{e(CHANGES.get(c, c).format(table=t))}</th>" for t, c in kinds
    )
    lines = []
    for reason in reasons:
        flagged = row["flagged_other"] if reason == "other" else row[f"flagged_{reason}"]
        cells = "".join(
            f'<td class="n" data-table="{e(t)}" data-change="{e(c)}" data-reason="{e(reason)}">'
            f"{audited.get((t, c, reason), 0):,}</td>"
            for t, c in kinds
        )
        unchanged = flagged - sum(n for (t, _, r), n in audited.items() if t == table and r == reason)
        why = why_unchanged(reason, table, unchanged, earlier) if unchanged > 0 else ""
        lines.append(
            f'<tr><td>{e(reason)}</td><td class="n" data-flagged="{e(reason)}">{flagged:,}</td>{cells}'
            f'<td class="why" data-unchanged="{e(reason)}" data-n="{max(unchanged, 0)}">{why}</td></tr>'
        )
    if not lines:
        return '<p class="empty">X flagged nothing.</p>'
    return f"<table><thead><tr>{head}<th></th></tr></thead><tbody>{''.join(lines)}</tbody></table>"


def job_card(
    row: dict,
    audited: dict[tuple[str, str, str], int],
    earlier: dict | None = None,
    applies: list[Apply] = (),
) -> str:
    """One job: what was checked, its timings, X's verdicts and what the audit says changed
    (every apply of it: ``applies``, which a job applied again names in its line)."""
    timings = [
        ("Job created on X", when(row["job_created_at"])),
        ("IDs uploaded", when(row["uploaded_at"])),
        ("Seen complete", when(row["completed_at"])),
        ("Applied", when(row["applied_at"])),
        ("X processing time", duration(row["x_processing_seconds"])),
        ("Status calls made", num(row["status_calls"])),
        ("IDs sent", num(row["ids_sent"])),
        ("Records flagged", num(row["results"])),
    ]
    timing_rows = "".join(f"<tr><th>{e(k)}</th><td class=t>{e(v)}</td></tr>" for k, v in timings)
    return (
        f'<div class="card job" id="job-{e(row["job_id"])}" data-job="{e(row["job_id"])}">'
        f"<h3>{e(row['job_type'] or row['table_name'])} job {job_link(row['job_id'])} · "
        f'{e(short_scope(row))} <span class="muted">({e(row["scope_kind"])})</span></h3>'
        f'<p class="muted">Run {_dag_run_link(row, inline=True)} · table {e(row["table_name"])}</p>'
        f'<p class="line">{e(describe_run(row, applies))}</p>'
        f'<div class="jobgrid"><div class="scroll">{_verdicts(row, audited, earlier)}</div>'
        f"<table>{timing_rows}</table></div></div>"
    )


def _coverage_card(c: Coverage) -> str:
    """One table's share of rows checked, set against what its rotation has had time to do."""
    slots = ",".join(map(str, sorted(c.slots)))
    attrs = f'data-coverage="{e(c.table)}" data-share="{c.share:.4f}" data-slots="{slots}"'
    if c.rotation_day == 0:
        return (
            f'<div class="card" {attrs}><h3>{e(c.table)}</h3><div class="big warn">0%</div>'
            f"<p>of rows checked with X: no {e(c.table)} job has been applied yet.</p>"
            f'<p><span class="badge warn">never checked</span> run the {e(c.table)} DAG to start its '
            f"rotation ({c.days} days to check every row).</p></div>"
        )
    tone, verdict = ("ok", "on track") if c.on_track else ("warn", "behind")
    what = "every row, in a sweep" if c.everything else f"{len(c.slots)} of {c.days} rotation slots"
    extra = [f"new rows of {len(c.dates)} date{'s' if len(c.dates) != 1 else ''}"] if c.dates else []
    extra += [f"sweep {e(s)}" for s in c.sweeps]
    unchecked = sorted(set(range(c.days)) - c.slots)
    notes = [f"{num(c.ids_sent)} IDs sent by those checks"]
    notes += (
        [f"slots not checked: {', '.join(map(str, unchecked))}"] if unchecked and not c.everything else []
    )
    notes += [f"{c.other_rotation} checks under another rotation length"] if c.other_rotation else []
    return (
        f'<div class="card" {attrs}><h3>{e(c.table)}</h3>'
        f'<div class="big {tone}">{100 * c.share:.0f}%</div>'
        f"<p>of rows checked with X in the last {c.days} days: {what}"
        + (f" (plus the {', '.join(extra)})" if extra else "")
        + f'</p><p><span class="badge {tone}">{verdict}</span> day {c.rotation_day} of {c.days} of the '
        f"rotation: expect ~{c.rotation_day}/{c.days} ({100 * c.rotation_day / c.days:.0f}%)</p>"
        f'<p class="muted">{"; ".join(notes)}. A slot is ~1/{c.days} of the rows '
        f"(<code>id % 1000003 % {c.days}</code>).</p></div>"
    )


def coverage_cards(items: list[Coverage]) -> str:
    return f'<div class="grid">{"".join(_coverage_card(c) for c in items)}</div>'


def _two(top: str, below: str) -> str:
    """A cell of two lines: the value and, muted, what qualifies it."""
    return f"{top}<small class=below>{below}</small>"


def _changed(row: dict, change: str, before: dict[str, int]) -> str:
    """What the row's apply changed and, for a job applied again, what its earlier applies did."""
    now = num(row[f"rows_{change}"])
    return _two(now, f"{before[change]:,} earlier") if before.get(change) else now


def runs_table(runs: list[dict], changed_before: dict[str, dict[str, int]]) -> str:
    if not runs:
        return '<p class="empty">No job applied yet: the table fills as the DAGs run.</p>'
    head = "".join(
        f"<th{' class=n' if n else ''}>{h}</th>"
        for h, n in (("Applied", 0), ("Job", 0), ("Checked", 0), ("Run", 0), ("IDs sent", 1),
                     ("Flagged", 1), ("Deleted", 1), ("Geo cleared", 1), ("Cascaded", 1), ("X took", 1))
    )  # fmt: skip
    rows = []
    for r in runs[:LATEST_JOBS]:
        before = changed_before.get(str(r["job_id"]), {})
        day, _, time = when(r["applied_at"]).partition(" ")
        checked, _, share = short_scope(r).partition(" + ")
        rows.append(
            f"<tr><td class=t>{_two(e(day), e(time))}</td>"
            f"<td class=t>{_two(job_link(r['job_id']), e(r['job_type'] or r['table_name']))}</td>"
            f'<td class=t title="{e(r["scope_label"])}">{_two(e(checked), e(share))}</td>'
            f"<td>{_dag_run_link(r)}</td>"
            f"<td class=n>{num(r['ids_sent'])}</td><td class=n>{num(r['results'])}</td>"
            + "".join(
                f"<td class=n>{_changed(r, c, before)}</td>"
                for c in ("deleted", "geo_scrubbed", "cascade_deleted")
            )
            + f"<td class=n>{e(duration(r['x_processing_seconds']))}</td></tr>"
        )
    return (
        f"<div class='scroll'><table id='runs' class='data'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _audit_table(rows: list[dict]) -> str:
    """The rows, and where each record was (file and line) when a files dataset's are among them."""
    where = any("file" in r for r in rows)
    heads = ("Changed at", "Table", "Record", "Change", "Reason", "Job", "Run") + (
        ("File", "Line") if where else ()
    )
    head = "".join(f"<th>{h}</th>" for h in heads)

    def place(r: dict) -> str:
        return f"<td class=file>{e(r.get('file'))}</td><td class=n>{e(r.get('line'))}</td>" if where else ""

    body = "".join(
        f"<tr><td class=t>{e(when(r['changed_at']))}</td><td>{e(r['table_name'])}</td>"
        f"<td class=id>{e(r['record_id'])}</td><td>{e(r['change'])}</td><td>{e(r['reason'])}</td>"
        f"<td>{job_link(r['job_id'])}</td><td class=id>{e(r['run_id'])}</td>{place(r)}</tr>"
        for r in rows
    )
    return (
        f'<div class="scroll"><table id="audit" class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _select(name: str, values: list[str], chosen: str) -> str:
    options = [("", "all"), *((v, v) for v in values)]
    if chosen and chosen not in values:
        options.append((chosen, f"{chosen} (unknown)"))
    items = "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(label)}</option>'
        for v, label in options
    )
    return f'<label>{name.capitalize()} <select name="{name}">{items}</select></label>'


def audit_section(result: AuditPage, *, path: str, csv_path: str = f"{PAGE_PREFIX}/audit.csv") -> str:
    """The filter, the download, one page of audited changes and an honest pager."""
    flt = result.filter
    csv = f"{csv_path}?" + urlencode({**flt.params(), "job": flt.job_id})
    form = (
        f'<form class="filter" method="get" action="{e(path)}">'
        f"{_select('reason', result.reasons, flt.reason)}"
        f"{_select('table', result.tables, flt.table)}<button>Filter</button>"
        f'<a class="button" id="csv" href="{e(csv)}" download>Download CSV ({result.total:,} rows)</a></form>'
    )
    if result.unknown:
        known = f"reasons: {', '.join(result.reasons)}; tables: {', '.join(result.tables)}"
        notice = f"Unknown {' and '.join(map(e, result.unknown))}: no audited change has it ({e(known)})."
        return form + f'<p class="notice" id="unknown">{notice}</p>'
    if not result.rows:
        return form + '<p class="empty">No audited changes match.</p>'

    def link(label: str, page: int, enabled: bool) -> str:
        href = f"{path}?{urlencode(flt.params(page=page))}"
        attrs = f'href="{e(href)}" data-page="{page}"' if enabled else 'aria-disabled="true"'
        return f'<a class="button{"" if enabled else " off"}" {attrs}>{label}</a>'

    last = result.pages - 1
    shown = f"rows {result.first_row:,} to {result.first_row + len(result.rows) - 1:,} of {result.total:,}"
    where = f"Page {result.page + 1:,} of {result.pages:,} · {shown} · {PAGE_SIZE} a page"
    if result.requested != result.page:
        where += f" (page {result.requested + 1:,} asked for: there are {result.pages:,})"
    pager = (
        f'<div class="pager" id="pager" data-page="{result.page}" data-pages="{result.pages}" '
        f'data-total="{result.total}"><span class="where">{where}</span>'
        + link("First", 0, result.page > 0)
        + link("← Newer", result.page - 1, result.page > 0)
        + link("Older →", result.page + 1, result.page < last)
        + link("Last", last, result.page < last)
        + "</div>"
    )
    return form + pager + _audit_table(result.rows) + pager.replace('id="pager" ', "")


def overview(
    wh: Any, runs: list[dict], changed_before: dict[str, dict[str, int]], cover: list[Coverage], audit: str
) -> str:
    body = (
        "<h2>Coverage of the store</h2>" + coverage_cards(cover)
        + '<div class="grid charts"><div><h2>Records X flagged per reason, per date checked</h2>'
        + '<p class="muted">Distinct records: for each date, the most any one run of it flagged (a '
        + "re-run flags the same records again, so runs are never added up).</p>"
        + charts.flagged_chart(runs) + "</div><div><h2>X processing time per job</h2>"
        + '<p class="muted">From the end of the upload to the first status call that saw the job '
        + "complete.</p>"
        + charts.processing_per_job(runs) + "</div></div>"
        + "<h2>Latest jobs</h2>"
        + '<p class="muted">Flagged is what X reported for the records a job sent; the apply changes only '
        + "what is still there to change (a record deleted earlier, or with no geo left, stays as it is). "
        + "Each job's entry says, per reason, how many and why. A job applied again (a re-run of a "
        + "complete job) changes nothing its earlier apply changed: those rows show as earlier.</p>"
        + runs_table(runs, changed_before)
        + '<h2 id="audited">Audited changes</h2>' + audit
    )  # fmt: skip
    return layout("X compliance", f"Warehouse connection <b>{e(wh.described)}</b> · times in UTC", body)


def run_view(wh: Any, dag_id: str, run_id: str, cards: list[str]) -> str:
    body = "".join(cards) or (
        '<p class="empty">No compliance job was applied in this run (yet): it appears here when its '
        "apply task succeeds.</p>"
    )
    run = f"Run {e(dag_id)} / <span class=id>{e(run_id)}</span>"
    sub = f"{run} · warehouse {e(wh.described)} · {overview_link()}"
    return layout("X compliance: this run", sub, body)


def job_view(wh: Any, job_id: str, card: str | None, audit: str) -> str:
    body = (card or f'<p class="empty">Job {e(job_id)} has not been applied to the warehouse yet.</p>') + (
        '<h2 id="audited">Changes audited for this job</h2>' + audit
    )
    sub = f"Warehouse {e(wh.described)} · times in UTC · {overview_link()}"
    return layout(f"X compliance job {job_id}", sub, body)
