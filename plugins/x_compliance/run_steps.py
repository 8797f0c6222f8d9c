"""The steps every compliance DAG shares, whatever holds the data: the Trigger form, the scope
decided once by the first task, and per X job the mapped ``submit → wait_for_job →
download_results``.

The export task of a DAG returns its parts, ``[{"ids_path", "results_path", "ids",
"job_type"}]``, one X job each; :func:`submit_wait_download` maps the provider's steps over
them (``XComplianceSubmitJobOperator``, the deferred ``XComplianceJobSensor``,
``XComplianceDownloadOperator``), and :func:`jobs_of_run` gives the apply task what they
handed on. Jobs of one type follow one another, as X allows one active job per type: a second
submit waits, deferred, until the first job is done.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from airflow.sdk import Param, get_current_context, task

from x_compliance.hooks.wait_report import REPORT_KEY
from x_compliance.operators.download import XComplianceDownloadOperator
from x_compliance.operators.links import JOB_ID_KEY
from x_compliance.operators.submit import XComplianceSubmitJobOperator
from x_compliance.sensors.job import XComplianceJobSensor
from x_compliance.warehouse.rotation import recheck_days_from_env
from x_compliance.warehouse.scope import DAILY, SWEEP, resolve_scope

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


def max_ids_per_job(params: Any) -> int:
    """The run's ``max_ids_per_job`` param, or the environment's default."""
    return int(params.get("max_ids_per_job") or max_ids_per_job_from_env())


def decide_scope_task(what: str) -> Any:
    """The first task: what this run checks (one date and its rotation share, or a sweep),
    from the run's params and logical date; ``what`` names the data in the log."""

    @task(task_id="decide_scope", multiple_outputs=False)  # Airflow 3.0 refuses a None XCom key
    def decide_scope() -> dict[str, Any]:
        context = get_current_context()
        dag_run = context["dag_run"]
        scope, how = resolve_scope(
            dict(context["params"]),
            logical_date=dag_run.logical_date,
            run_after=dag_run.run_after,
            recheck_days=recheck_days_from_env(),
        )
        log.info("This run checks %s %s (chosen by %s)", what, scope["checked"], how)
        return scope

    return decide_scope()


def run_folder(storage_root: str, name: str, scope_folder: str, run_id: str) -> str:
    """Where a run keeps its ID and results files: ``<root>/<name>/<scope>/<run>``."""
    safe_run = run_id.replace(":", "").replace("+", "")
    return f"{storage_root.rstrip('/')}/{name}/{scope_folder}/{safe_run}"


def submit_wait_download(parts: Any, *, poll_interval: float) -> Any:
    """Map the provider's steps over the export's ``parts`` (an XComArg); returns the download
    step, which the apply task follows."""
    submitted = XComplianceSubmitJobOperator.partial(
        task_id=SUBMIT_TASK,
        slot_poll_interval=poll_interval,
        resumable=True,
        # One submit of a run at a time, in map-index order (a deferred one counts): a submit waits
        # on its run's previous job alone, and the later ones wait for it to end, not on X.
        max_active_tis_per_dagrun=1,
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
    waited >> downloaded
    return downloaded


def numbered(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each part of a run with the number of jobs after it: their waits share X's status-call
    budget with its own (:mod:`x_compliance.hooks.run_budget`)."""
    return [{**part, "jobs_after": len(parts) - 1 - i} for i, part in enumerate(parts)]


def jobs_of_run(parts: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """Per part of the run, inside the apply task: ``(part, download summary, wait report)``."""
    ti = get_current_context()["ti"]
    every_part = list(range(len(parts)))
    downloads = _per_part(ti.xcom_pull(task_ids=DOWNLOAD_TASK, map_indexes=every_part))
    waits = _per_part(ti.xcom_pull(task_ids=WAIT_TASK, key=REPORT_KEY, map_indexes=every_part))
    return list(zip(parts, downloads, waits, strict=True))


# The mapped steps' kwargs, one element per file, from the XComs of the steps before
# (plain functions: Airflow applies them where each task runs).
def _submit_kwargs(part: dict[str, Any]) -> dict[str, Any]:
    return {
        "ids_path": part["ids_path"],
        "job_type": part["job_type"],
        "jobs_after": part.get("jobs_after", 0),
    }


def _wait_kwargs(uploaded: dict[str, Any]) -> dict[str, Any]:
    keys = ("uploaded_at", "ids", "pace", "jobs_after", "status_limit")
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
