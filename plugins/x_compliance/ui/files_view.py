"""The Compliance page's files datasets audited as Parquet: a card per configured root on the
overview (or why it cannot be shown), and a view per dataset with its jobs, its audited rows
per change and reason, and its audited changes (with file and line), paged and exported."""

from __future__ import annotations

from x_compliance.operators.links import PAGE_PREFIX, in_shell
from x_compliance.ui import pages
from x_compliance.ui.files import FilesAudit, FilesSourceUnavailable
from x_compliance.ui.pages import e, layout, num, when
from x_compliance.warehouse.rotation import recheck_days_from_env

Source = tuple[int, str, FilesAudit | FilesSourceUnavailable]


def files_path(index: int) -> str:
    return f"{PAGE_PREFIX}/files/{index}"


def _counts(audit: FilesAudit) -> str:
    per: dict[tuple[str, str], int] = {}
    for s in audit.segments():
        per[(s.change, s.reason)] = per.get((s.change, s.reason), 0) + s.rows
    if not per:
        return '<p class="empty">No change audited yet.</p>'
    body = "".join(
        f'<tr><td>{e(change)}</td><td>{e(reason)}</td><td class="n" data-change="{e(change)}" '
        f'data-reason="{e(reason)}">{n:,}</td></tr>'
        for (change, reason), n in sorted(per.items())
    )
    head = "<tr><th>Change</th><th>Reason</th><th class=n>Rows</th></tr>"
    return f'<table class="data counts"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _card(index: int, shown: str, audit: FilesAudit | FilesSourceUnavailable) -> str:
    attrs = f'class="card" data-files-source="{e(shown)}"'
    if isinstance(audit, FilesSourceUnavailable):
        return (
            f'<div {attrs} data-available="false"><h3>{e(shown)}</h3>'
            f'<p class="notice"><span class="badge warn">unavailable</span> {e(audit)}</p></div>'
        )
    runs = audit.latest_runs()
    rows = sum(s.rows for s in audit.segments())
    latest = when(runs[0]["applied_at"]) if runs else "never"
    link = f'<a data-airflow href="{e(in_shell(files_path(index)))}">its jobs and audited changes</a>'
    return (
        f'<div {attrs} data-available="true" data-rows="{rows}"><h3>{e(audit.table)}</h3>'
        f'<div class="big">{num(rows)}</div><p>changes audited by {num(len(runs))} jobs; last applied '
        f"{e(latest)} (UTC).</p><p>{link}</p></div>"
    )


def files_section(sources: list[Source]) -> str:
    """The overview's files datasets; nothing when none is configured."""
    if not sources:
        return ""
    cards = "".join(_card(*source) for source in sources)
    return (
        '<h2 id="files">Files datasets</h2><p class="muted">Audited as Parquet beside each dataset '
        "(<code>X_COMPLIANCE_FILES_ROOTS</code>). A dataset audited to the warehouse shows with its "
        f'tables above.</p><div class="grid">{cards}</div>'
    )


def files_view(index: int, shown: str, audit: FilesAudit | FilesSourceUnavailable, section: str) -> str:
    sub = f"Files dataset {e(shown)} · times in UTC · {pages.overview_link()}"
    if isinstance(audit, FilesSourceUnavailable):
        return layout("X compliance: files dataset", sub, _card(index, shown, audit))
    body = (
        "<h2>Coverage of the dataset</h2>" + pages.coverage_cards([audit.coverage(recheck_days_from_env())])
        + "<h2>Audited rows per change and reason</h2>" + _counts(audit)
        + "<h2>Jobs</h2>" + pages.runs_table(audit.latest_runs(), {})
        + '<h2 id="audited">Audited changes</h2>' + section
    )  # fmt: skip
    return layout(f"X compliance: {audit.table}", sub, body)
