"""X compliance provider for Apache Airflow: keep stored X data honest about deletions.

X's batch compliance API takes a file of Post or user IDs and says which were deleted,
deactivated, protected, suspended, bounced or geo-scrubbed. This package runs that cycle as
Airflow tasks: a hook (the only code that speaks HTTP), operators per step, and a deferrable
sensor.
"""

from x_compliance.version import __version__

__all__ = ["__version__"]
