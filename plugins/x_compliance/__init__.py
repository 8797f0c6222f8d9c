"""X compliance provider for Apache Airflow: keep stored X data honest about deletions.

X's batch compliance API takes a file of Post or user IDs and says which were deleted,
deactivated, protected, suspended, bounced or geo-scrubbed. This package runs that cycle as
Airflow tasks: a hook (the only code that speaks HTTP), an operator per step (and submit:
create and upload in one task), a deferrable sensor, and an all-in-one operator. Names are
imported lazily so that importing the package (the triggerer does) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from x_compliance.version import __version__

_EXPORTS = {
    "XComplianceHook": "x_compliance.hooks.x_compliance",
    "XComplianceCreateJobOperator": "x_compliance.operators.create",
    "XComplianceUploadOperator": "x_compliance.operators.upload",
    "XComplianceSubmitJobOperator": "x_compliance.operators.submit",
    "XComplianceDownloadOperator": "x_compliance.operators.download",
    "XComplianceJobOperator": "x_compliance.operators.job",
    "XComplianceJobSensor": "x_compliance.sensors.job",
    "XComplianceJobTrigger": "x_compliance.triggers.job",
    "ComplianceJob": "x_compliance.hooks.jobs",
    "JobStatus": "x_compliance.hooks.jobs",
    "JobType": "x_compliance.hooks.jobs",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'x_compliance' has no attribute {name!r}")
