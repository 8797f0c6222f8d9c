"""A warehouse table's compliance run as tasks, one per step, each watched in the grid:
``decide_scope → export_ids → submit → wait_for_job → download_results → apply_to_warehouse``.

Both example DAGs are this, for ``tweets`` and for ``users``. The scope (one date and its
rotation share, or a sweep) is decided once, by the first task, from the run's params and
logical date; no template needs ``ds``, so runs without a logical date work. The export
writes one file per X job (more than one only beyond ``max_ids_per_job``), and each file is
mapped through the provider's steps: ``XComplianceSubmitJobOperator`` (create and upload),
``XComplianceJobSensor`` (deferred: no worker held while X works) and
``XComplianceDownloadOperator``. The jobs follow one another, as X allows one active job per
type: a second submit waits, deferred, until the first job is done. The pandas task
``apply_to_warehouse`` applies every job of the run in one transaction.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from airflow.providers.common.compat.sdk import AirflowSkipException, BaseHook
from airflow.sdk import Param, get_current_context, task

from x_compliance.hooks.wait_report import REPORT_KEY
from x_compliance.operators.download import XComplianceDownloadOperator
from x_compliance.operators.links import JOB_ID_KEY
from x_compliance.operators.submit import XComplianceSubmitJobOperator
from x_compliance.sensors.job import XComplianceJobSensor
from x_compliance.warehouse.apply import JobResults, apply_jobs
from x_compliance.warehouse.export import export_scope
from x_compliance.warehouse.rotation import recheck_days_from_env
from x_compliance.warehouse.runs import run_extra
from x_compliance.warehouse.scope import DAILY, SWEEP, folder_name, resolve_scope
from x_compliance.warehouse.tables import ComplianceTable

log = logging.getLogger(__name__)

# X documents no maximum ("millions of IDs"). 5M IDs is a 100 MB upload, minutes at worst
# inside the 15-minute upload window, and keeps a 10M-row store's daily share (~1.5M) and
# even a full sweep of it (2 jobs) to one or two jobs.
DEFAULT_MAX_IDS_PER_JOB = 5_000_000
SUBMIT_TASK, WAIT_TASK, DOWNLOAD_TASK = "submit", "wait_for_job", "download_results"
# The longest wait for X to process one job, as the all-in-one operator's default.
WAIT_TIMEOUT_SECONDS = 24 * 3600


def max_ids_per_job_from_env() -> int:
    return int(os.environ.get("X_COMPLIANCE_MAX_IDS_PER_JOB", str(DEFAULT_MAX_IDS_PER_JOB)))


def compliance_params(max_ids_per_job: int) -> dict[str, Param]:
    """The Trigger dialog's form: a daily check (of a date) or a sweep (of a range, or all)."""
    day = {"type": ["null", "string"], "format": "date"}
    return {
        "mode": Param(
            DAILY,
            type="string",
            enum=[DAILY, SWEEP],
            title="Mode",
            description="daily: one date's new rows and its rotation share. sweep: every row created "
            "in [created_from, created_to] (both empty: every stored row), in as few jobs as possible.",
        ),
        "date": Param(
            None,
            **day,
            title="Date (daily)",
            description="The UTC date to check. Empty: the run's logical date, or yesterday without one.",
        ),
        "created_from": Param(None, **day, title="Created from (sweep)", description="First day, inclusive."),
        "created_to": Param(None, **day, title="Created to (sweep)", description="Last day, inclusive."),
        "max_ids_per_job": Param(
            max_ids_per_job,
            type="integer",
            minimum=1,
            title="Most IDs per X job",
            description="A run with more IDs sends several jobs, one after another.",
        ),
    }


def _run_folder(storage_root: str, table: ComplianceTable, scope: dict[str, Any], run_id: str) -> str:
    safe_run = run_id.replace(":", "").replace("+", "")
    return f"{storage_root.rstrip('/')}/{table.name}/{folder_name(scope)}/{safe_run}"


def warehouse_compliance(
    table: ComplianceTable, *, warehouse_conn_id: str, storage_root: str, poll_interval: float, outlets: list
) -> Any:
    """Add the run's tasks to the DAG being defined; returns the apply task."""

    @task(multiple_outputs=False)  # one XCom: Airflow 3.0 refuses a key whose value is None
    def decide_scope() -> dict[str, Any]:
        context = get_current_context()
        dag_run = context["dag_run"]
        scope, how = resolve_scope(
            dict(context["params"]),
            logical_date=dag_run.logical_date,
            run_after=dag_run.run_after,
            recheck_days=recheck_days_from_env(),
        )
        log.info("This run checks %s %s (chosen by %s)", table.name, scope["checked"], how)
        return scope

    @task
    def export_ids(scope: dict[str, Any]) -> list[dict[str, Any]]:
        context = get_current_context()
        folder = _run_folder(storage_root, table, scope, context["run_id"])
        warehouse = BaseHook.get_hook(warehouse_conn_id)
        limit = int(context["params"].get("max_ids_per_job") or max_ids_per_job_from_env())
        parts = export_scope(warehouse, table, scope, folder, max_ids_per_job=limit)
        if not parts:
            raise AirflowSkipException(f"No {table.name} to check ({scope['checked']}): no job sent to X")
        return _numbered(parts)  # [{"ids_path", "results_path", "ids", "jobs_after"}]: one X job each

    @task(outlets=outlets)
    def apply_to_warehouse(parts: list[dict[str, Any]], scope: dict[str, Any]) -> dict:
        """Remove, scrub and audit what X flagged, every job of the run in one transaction."""
        context = get_current_context()
        ti = context["ti"]
        every_part = list(range(len(parts)))
        downloads = _per_part(ti.xcom_pull(task_ids=DOWNLOAD_TASK, map_indexes=every_part))
        waits = _per_part(ti.xcom_pull(task_ids=WAIT_TASK, key=REPORT_KEY, map_indexes=every_part))
        jobs = [
            JobResults(d["job_id"], d["path"], p["ids_path"], downloaded={**d, "wait": w}, ids_sent=p["ids"])
            for d, w, p in zip(downloads, waits, parts, strict=True)
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

    scope = decide_scope()
    parts = export_ids(scope)
    submitted = XComplianceSubmitJobOperator.partial(
        task_id=SUBMIT_TASK, job_type=table.job_type, slot_poll_interval=poll_interval, resumable=True
    ).expand_kwargs(parts.map(_submit_kwargs))
    waited = XComplianceJobSensor.partial(
        task_id=WAIT_TASK,
        deferrable=True,
        poke_interval=poll_interval,
        timeout=WAIT_TIMEOUT_SECONDS,
    ).expand_kwargs(submitted.output.map(_wait_kwargs))
    downloaded = XComplianceDownloadOperator.partial(task_id=DOWNLOAD_TASK).expand_kwargs(
        submitted.output.zip(parts).map(_download_kwargs)
    )
    applied = apply_to_warehouse(parts, scope)
    waited >> downloaded >> applied
    return applied


# The mapped steps' kwargs, one element per file, from the XComs of the steps before
# (plain functions: Airflow applies them where each task runs).
def _numbered(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each file with the number of jobs after it: their waits share X's budget with its own."""
    return [{**part, "jobs_after": len(parts) - 1 - i} for i, part in enumerate(parts)]


def _submit_kwargs(part: dict[str, Any]) -> dict[str, Any]:
    return {"ids_path": part["ids_path"], "jobs_after": part.get("jobs_after", 0)}


def _wait_kwargs(uploaded: dict[str, Any]) -> dict[str, Any]:
    keys = ("uploaded_at", "ids", "pace", "jobs_after")
    return {"job_id": uploaded[JOB_ID_KEY], **{key: uploaded.get(key) for key in keys}}


def _download_kwargs(zipped: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    uploaded, part = zipped
    return {
        "job_id": uploaded[JOB_ID_KEY],
        "results_path": part["results_path"],
        "uploaded_ids": uploaded["ids"] or part["ids"],
        "ids_path": part["ids_path"],
    }


def _per_part(pulled: Any) -> list[Any]:
    """An XCom pulled from every map index, as a list (one index comes back bare)."""
    return [pulled] if isinstance(pulled, dict) else list(pulled)
