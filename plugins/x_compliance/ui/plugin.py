"""The provider's Airflow plugin: the Compliance page in the nav and as a tab on every DAG run,
and the extra link of the X compliance operators. Registered through the package's
``airflow.plugins`` entry point (Airflow loads the provider info's ``plugins`` only when
``[core] lazy_discover_providers`` is off), so the Plugins page lists it once the package is
installed, with no file in the plugins folder."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from x_compliance.links import PAGE_PREFIX, XComplianceJobLink
from x_compliance.ui.app import create_app


class XCompliancePlugin(AirflowPlugin):
    name = "x_compliance"
    fastapi_apps = [{"app": create_app(), "url_prefix": PAGE_PREFIX, "name": "X compliance"}]
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
