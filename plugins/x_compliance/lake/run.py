"""A dataset of files' compliance run as tasks, one per step, each watched in the grid:
``decide_scope → export_ids → submit → wait_for_job → download_results → apply_to_files``.

The scope and the mapped job steps are the warehouse DAGs' (:mod:`x_compliance.run_steps`).
The export reads the IDs the dataset holds (twarc2: the files' ID manifests; Parquet: the ID
and author columns; Delta: those of the table's current version) and sends Post IDs to a
tweets job and user IDs to a users job; X runs the two at once. The pandas task
``apply_to_files`` rewrites, file by file, only the files holding a flagged ID (a Delta table:
one merge), and audits every change (:mod:`~x_compliance.lake.apply`).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowSkipException
from airflow.sdk import get_current_context, task

from x_compliance.lake.apply import FilesJob, apply_jobs_to_files
from x_compliance.lake.dataset import DataFormat, data_format
from x_compliance.lake.export import export_dataset
from x_compliance.run_steps import (
    decide_scope_task,
    jobs_of_run,
    max_ids_per_job,
    numbered,
    run_folder,
    submit_wait_download,
)
from x_compliance.warehouse.scope import folder_name

FILES_ROOT_PARAM, FORMAT_PARAM, RETENTION_PARAM = "files_root", "format", "delta_retention_hours"
AUDIT_CONN_PARAM = "audit_conn_id"  # a SQL connection for the audit; empty: Parquet beside the dataset


def data_format_of(params: dict[str, Any]) -> DataFormat:
    """The run's format, as its params name it (and, for Delta, how long older versions stay)."""
    return data_format(params[FORMAT_PARAM], retention_hours=int(params.get(RETENTION_PARAM) or 0))


def files_compliance(*, storage_root: str, poll_interval: float, outlets: list) -> Any:
    """Add the run's tasks to the DAG being defined (its params name the dataset root and its
    format); returns the apply task."""

    @task
    def export_ids(scope: dict[str, Any]) -> list[dict[str, Any]]:
        context = get_current_context()
        params = context["params"]
        folder = run_folder(storage_root, "files", folder_name(scope), context["run_id"])
        data = data_format_of(params)
        parts = export_dataset(
            params[FILES_ROOT_PARAM], data, scope, folder, max_ids_per_job=max_ids_per_job(params)
        )
        if not parts:
            raise AirflowSkipException(f"No records to check ({scope['checked']}): no job sent to X")
        return numbered(parts)  # [{ids_path, results_path, ids, job_type, jobs_after}]: one X job each

    @task(outlets=outlets)
    def apply_to_files(parts: list[dict[str, Any]], scope: dict[str, Any]) -> dict[str, Any]:
        """Rewrite the files holding what X flagged, each whole or not at all, and audit it."""
        context = get_current_context()
        params = context["params"]
        jobs = [
            FilesJob(d["job_id"], p["job_type"], d["path"], p["ids_path"], ids=p["ids"])
            for p, d, _ in jobs_of_run(parts)
        ]
        applied = apply_jobs_to_files(
            params[FILES_ROOT_PARAM],
            data_format_of(params),
            jobs,
            run_id=context["run_id"],
            audit_conn_id=params.get(AUDIT_CONN_PARAM) or None,
            scope=scope,
        )
        for outlet in outlets:
            context["outlet_events"][outlet].extra = applied
        return applied

    scope = decide_scope_task("files")
    parts = export_ids(scope)
    downloaded = submit_wait_download(parts, poll_interval=poll_interval)
    applied = apply_to_files(parts, scope)
    downloaded >> applied
    return applied
