"""The Compliance page's routes, behind Airflow's own authentication (DAG read access).

Mounted by :mod:`x_compliance.ui.plugin` at ``/x-compliance`` on the API server, and shown by
Airflow's UI under ``/plugin/x-compliance/...``. Every route reads the warehouse with bounded
queries, and the files datasets' Parquet audits by their footers and row groups
(:mod:`x_compliance.ui.files`); nothing here can show a token or a signed URL, because nothing
here reads the X connection, and a dataset's root is shown without login or query string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from x_compliance.lake.audit_summary import is_files_table
from x_compliance.operators.links import PAGE_PREFIX
from x_compliance.ui import pages
from x_compliance.ui.audit import AuditFilter, audit_page, csv_lines, csv_name
from x_compliance.ui.coverage import coverage
from x_compliance.ui.files import FilesAudit, FilesSourceUnavailable, files_sources
from x_compliance.ui.files_view import files_path, files_section, files_view
from x_compliance.ui.queries import Warehouse, warehouse_hook
from x_compliance.warehouse.rotation import recheck_days_from_env
from x_compliance.warehouse.tables import TWEETS, USERS

PAGE = Query(0, ge=0, description="0-based; a page past the last is served as the last")


def _auth():
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return [Depends(requires_access_dag("GET"))]


def _warehouse() -> Warehouse:
    return Warehouse(*warehouse_hook())


def _card(wh: Warehouse, row: dict) -> str:
    return pages.job_card(row, wh.job_counts(row), wh.earlier_check(row), wh.applies(str(row["job_id"])))


def _overview(wh: Warehouse, flt: AuditFilter, page: int) -> str:
    days = recheck_days_from_env()
    window, first = wh.runs_since(days), wh.first_applied()
    tables = [t.name for t in (TWEETS, USERS)] + sorted(t for t in first if is_files_table(t))
    cover = [coverage(table, window, days, first.get(table)) for table in tables]
    section = pages.audit_section(audit_page(wh, flt, page), path=f"{PAGE_PREFIX}/")
    runs = wh.latest_runs()
    section += files_section(files_sources())
    return pages.overview(wh, runs, wh.changed_before(runs[: pages.LATEST_JOBS]), cover, section)


def _closed_after(
    lines: Callable[[Warehouse, AuditFilter], Iterator[str]], flt: AuditFilter
) -> Iterator[str]:
    """``lines`` over a warehouse connection that lives as long as the stream."""
    with _warehouse() as wh:
        yield from lines(wh, flt)


def _files_source(index: int) -> tuple[int, str, FilesAudit | FilesSourceUnavailable]:
    sources = files_sources()
    if index >= len(sources):
        raise HTTPException(404, f"no files dataset {index}: {len(sources)} configured")
    return sources[index]


def _files_job(job_id: str) -> tuple[int, FilesAudit, dict] | None:
    """The first files dataset audited as Parquet that holds the job, and its runs row."""
    for index, _, audit in files_sources():
        if isinstance(audit, FilesAudit) and (row := audit.job(job_id)):
            return index, audit, row
    return None


def _csv(lines: Iterator[str], flt: AuditFilter) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{csv_name(flt)}"'}
    return StreamingResponse(lines, media_type="text/csv", headers=headers)


def create_app() -> FastAPI:
    app = FastAPI(title="X compliance", dependencies=_auth(), docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def overview(reason: str = "", table: str = "", page: int = PAGE) -> str:
        with _warehouse() as wh:
            return _overview(wh, AuditFilter(reason=reason, table=table), page)

    @app.get("/runs/{dag_id}/{run_id:path}", response_class=HTMLResponse)
    def run(dag_id: str, run_id: str) -> str:
        with _warehouse() as wh:
            return pages.run_view(wh, dag_id, run_id, [_card(wh, row) for row in wh.runs_of(dag_id, run_id)])

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job(job_id: str, reason: str = "", table: str = "", page: int = PAGE) -> str:
        path, flt = f"{PAGE_PREFIX}/jobs/{quote(job_id, safe='')}", AuditFilter(reason, table, job_id)
        with _warehouse() as wh:
            row = wh.job(job_id)
            if row is None and (found := _files_job(job_id)):  # a job of a files dataset's Parquet audit
                index, audit, row = found
                card = pages.job_card(row, audit.job_counts(row))
                csv_path = f"{files_path(index)}/audit.csv"
                section = pages.audit_section(audit_page(audit, flt, page), path=path, csv_path=csv_path)
                return pages.job_view(audit, job_id, card, section)
            section = pages.audit_section(audit_page(wh, flt, page), path=path)
            return pages.job_view(wh, job_id, _card(wh, row) if row else None, section)

    @app.get("/audit.csv")
    def audit_csv(reason: str = "", table: str = "", job: str = "") -> StreamingResponse:
        """The audited changes the page's filter shows, every page of them, streamed."""
        flt = AuditFilter(reason=reason, table=table, job_id=job)
        return _csv(_closed_after(csv_lines, flt), flt)

    @app.get("/files/{index}", response_class=HTMLResponse)
    def files(index: int, reason: str = "", job: str = "", page: int = PAGE) -> str:
        """A files dataset audited as Parquet: its jobs, counts and audited changes."""
        index, shown, audit = _files_source(index)
        section = ""
        if isinstance(audit, FilesAudit):
            audited = audit_page(audit, AuditFilter(reason=reason, job_id=job), page)
            path = files_path(index)
            section = pages.audit_section(audited, path=path, csv_path=f"{path}/audit.csv")
        return files_view(index, shown, audit, section)

    @app.get("/files/{index}/audit.csv")
    def files_csv(index: int, reason: str = "", job: str = "") -> StreamingResponse:
        _, _, audit = _files_source(index)
        if isinstance(audit, FilesSourceUnavailable):
            raise HTTPException(503, str(audit))
        flt = AuditFilter(reason=reason, job_id=job)
        return _csv(csv_lines(audit, flt), flt)

    return app
