"""What differs between the Airflow 3 minor releases this provider supports, where
``apache-airflow-providers-common-compat`` has no shim: one place to look, and to delete from
when the floor rises."""

from __future__ import annotations

import logging

from airflow import __version__ as _airflow_version
from packaging.version import Version

log = logging.getLogger(__name__)

AIRFLOW_VERSION = Version(_airflow_version).release
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION >= (3, 1)
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2)

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Before 3.2 the timetables lived in core only.
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]


def missing_features() -> list[str]:
    """What this provider offers that the running Airflow cannot show, in a user's words."""
    missing = []
    if not AIRFLOW_V_3_1_PLUS:
        missing.append(
            "the Compliance page has no menu entry and no DAG-run tab (plugin external views need "
            "Airflow 3.1); it is still served at /x-compliance/ on the API server"
        )
    if not AIRFLOW_V_3_2_PLUS:
        missing.append(
            "the x_compliance connection form is Airflow's generic one (provider conn-fields and "
            "ui-field-behaviour need Airflow 3.2): the API base URL goes in Host, the bearer token "
            'in Password, the request timeout in Extra as {"timeout": 60}'
        )
    return missing


def log_missing_features() -> None:
    """One log line per feature this Airflow lacks; nothing on an Airflow that has them all."""
    for feature in missing_features():
        log.info("x-compliance on Airflow %s: %s", _airflow_version, feature)


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "CronDataIntervalTimetable",
    "log_missing_features",
    "missing_features",
]
