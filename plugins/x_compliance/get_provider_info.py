"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

The same shape as the providers Airflow ships (their ``provider.yaml``): every hook, operator,
sensor and trigger module, the ``x_compliance`` connection type and its form (the API base URL,
X's by default, the emulator in development; the bearer token in the password field, which
Airflow stores encrypted and masks everywhere), the extra link and the plugin with the
Compliance page. The Providers page and the provider registry read it; a test checks it
against Airflow's own schema and imports every module it names.
"""

from __future__ import annotations

from x_compliance.files.limits import MAX_COMPRESSION_RATIO
from x_compliance.version import __version__

INTEGRATION = "X Compliance"


def _modules(*names: str) -> list[dict]:
    return [{"integration-name": INTEGRATION, "python-modules": [f"x_compliance.{name}" for name in names]}]


def get_provider_info() -> dict:
    return {
        "package-name": "x-compliance",
        "name": INTEGRATION,
        "description": "Keep data pulled from X in compliance: X's batch compliance API as Airflow tasks.",
        "state": "ready",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://docs.x.com/x-api/compliance/batch-compliance/introduction",
                "tags": ["service"],
            }
        ],
        "hooks": _modules("hooks.x_compliance"),
        "operators": _modules(
            "operators.create", "operators.upload", "operators.submit", "operators.download", "operators.job"
        ),
        "sensors": _modules("sensors.job"),
        "triggers": _modules("triggers.job"),
        "connection-types": [
            {
                "connection-type": "x_compliance",
                "hook-class-name": "x_compliance.hooks.x_compliance.XComplianceHook",
                "hook-name": INTEGRATION,
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
                    "max_compression_ratio": {
                        "label": "Largest compression ratio of results",
                        "description": (
                            "A results download that inflates more than this many times the bytes "
                            "received is refused as a compression bomb (real results: about 4 to 16)."
                        ),
                        "schema": {"type": ["number", "null"], "default": MAX_COMPRESSION_RATIO},
                    },
                },
            }
        ],
        "extra-links": ["x_compliance.operators.links.XComplianceJobLink"],
        "plugins": [{"name": "x_compliance", "plugin-class": "x_compliance.ui.plugin.XCompliancePlugin"}],
    }
