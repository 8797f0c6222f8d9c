"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

It registers the ``x_compliance`` connection type and its form: the host (X's API by default,
the emulator in development) and the bearer token in the password field, which Airflow stores
encrypted and masks everywhere; the plugin with the Compliance page; the operators' extra link.
"""

from __future__ import annotations

from x_compliance.version import __version__


def get_provider_info() -> dict:
    return {
        "package-name": "x-compliance",
        "name": "X Compliance",
        "description": "Keep data pulled from X in compliance: X's batch compliance API as Airflow tasks.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "X Compliance",
                "external-doc-url": "https://docs.x.com/x-api/compliance/batch-compliance/introduction",
                "tags": ["service"],
            }
        ],
        "plugins": [{"name": "x_compliance", "plugin-class": "x_compliance.ui.plugin.XCompliancePlugin"}],
        "extra-links": ["x_compliance.operators.links.XComplianceJobLink"],
        "hooks": [
            {"integration-name": "X Compliance", "python-modules": ["x_compliance.hooks.x_compliance"]}
        ],
        "connection-types": [
            {
                "connection-type": "x_compliance",
                "hook-class-name": "x_compliance.hooks.x_compliance.XComplianceHook",
                "hook-name": "X Compliance",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "schema", "port"],
                    "relabeling": {"password": "Bearer token", "host": "API base URL"},
                    "placeholders": {
                        "host": "https://api.x.com",
                        "password": "App-only bearer token of your X app",
                    },
                },
                "conn-fields": {
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "description": "How long one HTTP request to X may take before it is retried.",
                        "schema": {"type": ["number", "null"], "default": 60},
                    },
                },
            }
        ],
    }
