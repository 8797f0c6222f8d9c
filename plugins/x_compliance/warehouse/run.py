"""A warehouse table's compliance run as tasks, one per step, each watched in the grid:
``decide_scope → export_ids → submit → wait_for_job → download_results → apply_to_warehouse``.

Both warehouse DAGs are this, for ``tweets`` and for ``users``. The scope (one date and its
rotation share, or a sweep) is decided once, by the first task, from the run's params and
logical date; no template needs ``ds``, so runs without a logical date work. The export
writes one file per X job (more than one only beyond ``max_ids_per_job``), and each file is
mapped through the provider's steps (:mod:`x_compliance.run_steps`, shared with the files
DAG). The pandas task ``apply_to_warehouse`` applies every job of the run in one transaction.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowSkipException, BaseHook
from airflow.sdk import get_current_context, task

from x_compliance.run_steps import (
    DEFAULT_MAX_IDS_PER_JOB,
    DOWNLOAD_TASK,
    SUBMIT_TASK,
    WAIT_TASK,
    compliance_params,
    decide_scope_task,
    jobs_of_run,
    max_ids_per_job,
    max_ids_per_job_from_env,
    numbered,
    run_folder,
    submit_wait_download,
)
from x_compliance.warehouse.apply import JobResults, apply_jobs
from x_compliance.warehouse.export import export_scope
from x_compliance.warehouse.runs import run_extra
from x_compliance.warehouse.scope import folder_name
from x_compliance.warehouse.tables import ComplianceTable

__all__ = [
    "DEFAULT_MAX_IDS_PER_JOB",
    "DOWNLOAD_TASK",
    "SUBMIT_TASK",
    "WAIT_TASK",
    "compliance_params",
    "max_ids_per_job_from_env",
    "warehouse_compliance",
]


def warehouse_compliance(
    table: ComplianceTable, *, warehouse_conn_id: str, storage_root: str, poll_interval: float, outlets: list
) -> Any:
    """Add the run's tasks to the DAG being defined; returns the apply task."""

    @task
    def export_ids(scope: dict[str, Any]) -> list[dict[str, Any]]:
        context = get_current_context()
        folder = run_folder(storage_root, table.name, folder_name(scope), context["run_id"])
        warehouse = BaseHook.get_hook(warehouse_conn_id)
        limit = max_ids_per_job(context["params"])
        parts = export_scope(warehouse, table, scope, folder, max_ids_per_job=limit)
        if not parts:
            raise AirflowSkipException(f"No {table.name} to check ({scope['checked']}): no job sent to X")
        return numbered([{**part, "job_type": table.job_type} for part in parts])  # one X job each

    @task(outlets=outlets)
    def apply_to_warehouse(parts: list[dict[str, Any]], scope: dict[str, Any]) -> dict:
        """Remove, scrub and audit what X flagged, every job of the run in one transaction."""
        context = get_current_context()
        jobs = [
            JobResults(d["job_id"], d["path"], p["ids_path"], downloaded={**d, "wait": w}, ids_sent=p["ids"])
            for p, d, w in jobs_of_run(parts)
        ]
        warehouse = BaseHook.get_hook(warehouse_conn_id)
        summaries = apply_jobs(
            warehouse, table, jobs, run_id=context["run_id"], scope=scope, dag_id=context["dag"].dag_id
        )
        totals = {
            k: sum(s[k] for s in summaries) for k in ("results", "deleted", "geo_scrubbed", "cascade_deleted")
        }
        applied = {
            "table": table.name,
            "checked": scope["checked"],
            "jobs": [s["job_id"] for s in summaries],
            **totals,
        }
        # Every asset this run changed carries the same counts as its compliance_runs rows.
        extra = run_extra([s["asset_extra"] for s in summaries])
        for outlet in outlets:
            context["outlet_events"][outlet].extra = extra
        return applied

    scope = decide_scope_task(table.name)
    parts = export_ids(scope)
    downloaded = submit_wait_download(parts, poll_interval=poll_interval)
    applied = apply_to_warehouse(parts, scope)
    downloaded >> applied
    return applied
