"""The extra link "X compliance job" on every task of a job (create, upload, submit, wait,
download, and the all-in-one operator): it opens the job's entry on the Compliance page, inside
Airflow's UI.

Airflow computes a link in the worker when a try ends (Airflow 3.3 also when it defers) and
stores it as an XCom, so the job id is read from what the task has at that moment: its return
value (a job id, or a dict holding one), else the ``job_id`` XCom a task pushes as soon as it
has created its job, else its own ``job_id`` argument (the sensor's and the download's).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom, conf

PAGE_PREFIX = "/x-compliance"  # where the plugin mounts the Compliance page on the API server
# The nav entry's route in Airflow's UI: it shows the page in an iframe beside Airflow's
# sidebar, and whatever path follows the route (one of the page's own) is what the iframe opens.
SHELL_ROUTE = "/plugin/x-compliance"
JOB_ID_KEY = "job_id"  # the XCom key under which a task that creates a job pushes its id


def in_shell(path: str) -> str:
    """A path of the page (``/x-compliance/...``) as a URL of Airflow's UI showing it."""
    return f"{SHELL_ROUTE}{path}"


def job_page(job_id: str) -> str:
    """The job's entry on the Compliance page inside Airflow's UI; absolute when
    ``[api] base_url`` is set."""
    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return base + in_shell(f"{PAGE_PREFIX}/jobs/{quote(str(job_id), safe='')}")


def job_id_of(value: Any) -> str | None:
    """The job id in a task's return value: create and wait return it, the others a dict with it."""
    if isinstance(value, dict):
        value = value.get("job_id")
    return str(value) if isinstance(value, str | int) and str(value).isdigit() else None


class XComplianceJobLink(BaseOperatorLink):
    name = "X compliance job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        job_id = (
            job_id_of(XCom.get_value(ti_key=ti_key, key="return_value"))
            or job_id_of(XCom.get_value(ti_key=ti_key, key=JOB_ID_KEY))
            or job_id_of(getattr(operator, "job_id", None))
        )
        return job_page(job_id) if job_id else ""
