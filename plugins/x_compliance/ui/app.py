"""The Compliance page's routes, behind Airflow's own authentication (DAG read access).

Mounted by :mod:`x_compliance.ui.plugin` at ``/x-compliance`` on the API server. Every route
reads the warehouse with bounded queries; nothing here can show a token or a signed URL,
because nothing here reads the X connection.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Query
from fastapi.responses import HTMLResponse

from x_compliance.operators.links import PAGE_PREFIX
from x_compliance.ui import pages
from x_compliance.ui.coverage import coverage
from x_compliance.ui.queries import Warehouse, warehouse_hook
from x_compliance.warehouse.rotation import recheck_days_from_env
from x_compliance.warehouse.tables import TWEETS, USERS


def _auth():
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return [Depends(requires_access_dag("GET"))]


def _warehouse() -> Warehouse:
    return Warehouse(*warehouse_hook())


def _audit(wh: Warehouse, path: str, *, reason: str, table: str, page: int, job_id: str = "") -> str:
    rows, more = wh.audit_page(reason=reason, table=table, job_id=job_id, page=page)
    return pages.audit_section(rows, more, reason=reason, table=table, page=page, path=path)


def create_app() -> FastAPI:
    app = FastAPI(title="X compliance", dependencies=_auth(), docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def overview(reason: str = "", table: str = "", page: int = Query(0, ge=0)) -> str:
        wh = _warehouse()
        days = recheck_days_from_env()
        window = wh.runs_since(days)
        checked = {r["table_name"] for r in wh.latest_runs()}
        cover = [coverage(wh.hook, t, window, days) for t in (TWEETS, USERS) if t.name in checked]
        audit = _audit(wh, f"{PAGE_PREFIX}/", reason=reason, table=table, page=page)
        return pages.overview(wh, wh.latest_runs(), cover, audit)

    @app.get("/runs/{dag_id}/{run_id:path}", response_class=HTMLResponse)
    def run(dag_id: str, run_id: str) -> str:
        wh = _warehouse()
        cards = [pages.job_card(row, wh.audit_counts(row["job_id"])) for row in wh.runs_of(dag_id, run_id)]
        return pages.run_view(wh, dag_id, run_id, cards)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job(job_id: str, reason: str = "", table: str = "", page: int = Query(0, ge=0)) -> str:
        wh = _warehouse()
        row = wh.job(job_id)
        card = pages.job_card(row, wh.audit_counts(job_id)) if row else None
        path = f"{PAGE_PREFIX}/jobs/{job_id}"
        return pages.job_view(
            wh, job_id, card, _audit(wh, path, reason=reason, table=table, page=page, job_id=job_id)
        )

    return app
