"""The provider's Airflow plugin: the Compliance page in the nav and as a tab on every DAG run,
and the extra link of the X compliance operators. Registered through the provider info
(``plugins``), so the Plugins page lists it without a file in the plugins folder."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from x_compliance.links import PAGE_PREFIX, XComplianceJobLink


def _fastapi_apps() -> list[dict]:
    try:
        from x_compliance.ui.app import create_app
    except ImportError:  # a worker without the API server's packages: the page is the server's job
        return []
    return [{"app": create_app(), "url_prefix": PAGE_PREFIX, "name": "X compliance"}]


class XCompliancePlugin(AirflowPlugin):
    name = "x_compliance"
    fastapi_apps = _fastapi_apps()
    external_views = [
        {
            "name": "Compliance",
            "href": f"{PAGE_PREFIX}/",
            "destination": "nav",
            "url_route": "x-compliance",
            "category": "browse",
        },
        {
            "name": "Compliance",
            "href": f"{PAGE_PREFIX}/runs/{{DAG_ID}}/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "x-compliance-run",
        },
    ]
    operator_extra_links = [XComplianceJobLink()]
