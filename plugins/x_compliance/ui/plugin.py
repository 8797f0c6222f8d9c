"""The provider's Airflow plugin: the Compliance page in the nav and as a tab on every DAG run,
and the extra link of the X compliance operators. Registered through the package's
``airflow.plugins`` entry point (Airflow loads the provider info's ``plugins`` only when
``[core] lazy_discover_providers`` is off), so the Plugins page lists it once the package is
installed, with no file in the plugins folder."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from x_compliance.compat import log_missing_features
from x_compliance.operators.links import PAGE_PREFIX, SHELL_ROUTE, XComplianceJobLink


class PageApp:
    """The page's ASGI app, built on its first request.

    Every Airflow component loads plugins (the scheduler, workers, the triggerer), and importing
    the API server's authentication is slow: only the API server should pay for it.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from x_compliance.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class XCompliancePlugin(AirflowPlugin):
    name = "x_compliance"
    fastapi_apps = [{"app": PageApp(), "url_prefix": PAGE_PREFIX, "name": "X compliance"}]
    external_views = [
        {
            "name": "Compliance",
            "href": f"{PAGE_PREFIX}/",
            "destination": "nav",
            "url_route": SHELL_ROUTE.rsplit("/", 1)[-1],
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

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        """Says which of the plugin's parts this Airflow cannot show (see :mod:`x_compliance.compat`)."""
        log_missing_features()
