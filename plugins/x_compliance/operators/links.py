"""The extra link "X compliance job" on every task of a job (create, upload, submit, wait,
download, and the all-in-one operator): it opens the job's entry on the Compliance page, inside
Airflow's UI.

Airflow computes a link in the worker when a try ends (Airflow 3.3 also when it defers), from
the task object that ran. So the job is read from that object, never from an XCom (a missing
XCom costs an error line in the task's log): the job a task made or fed (``linked_job_id``,
set the moment the job exists, so a deferred or failed try links it too), else the ``job_id``
the task was given (the sensor's and the download's).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseOperatorLink, conf

PAGE_PREFIX = "/x-compliance"  # where the plugin mounts the Compliance page on the API server
# The nav entry's route in Airflow's UI: it shows the page in an iframe beside Airflow's
# sidebar, and whatever path follows the route (one of the page's own) is what the iframe opens.
SHELL_ROUTE = "/plugin/x-compliance"
JOB_ID_KEY = "job_id"  # the XCom key under which a task that creates a job pushes its id
UPLOADED_AT_KEY = "uploaded_at"  # and, once its IDs are sent, when (a wait counts from it)


def in_shell(path: str) -> str:
    """A path of the page (``/x-compliance/...``) as a URL of Airflow's UI showing it."""
    return f"{SHELL_ROUTE}{path}"


def job_page(job_id: str) -> str:
    """The job's entry on the Compliance page inside Airflow's UI; absolute when
    ``[api] base_url`` is set."""
    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return base + in_shell(f"{PAGE_PREFIX}/jobs/{quote(str(job_id), safe='')}")


def job_id_of(value: Any) -> str | None:
    """The job id in ``value``: a job id, or a dict holding one under ``job_id``."""
    if isinstance(value, dict):
        value = value.get("job_id")
    return str(value) if isinstance(value, str | int) and str(value).isdigit() else None


class XComplianceJobLink(BaseOperatorLink):
    name = "X compliance job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        made_or_fed = getattr(operator, "linked_job_id", None)  # XComplianceConnectionMixin's
        job_id = job_id_of(made_or_fed) or job_id_of(getattr(operator, "job_id", None))
        return job_page(job_id) if job_id else ""
